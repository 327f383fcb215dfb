/**
 * PROXY protocol v1 (text) and v2 (binary) header parser: the header a TCP load balancer puts in
 * front of a connection to tell the server who the client is. Pure: bytes in, result out.
 * Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt (v1 §2.1, v2 §2.2).
 * @module
 */
import { ProxyProtocolError } from './errors.js';
import { formatIp, parseIp } from './peer-policy/ip-address.js';

/** The 12-byte signature that starts every v2 header (spec §2.2). */
export const PROXY_V2_SIGNATURE = new Uint8Array([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** Bytes of the fixed part of a v2 header: signature, version/command, family, length. */
export const PROXY_V2_FIXED_BYTES = 16;
/** Longest v1 header, CRLF included (spec §2.1: 107 bytes). */
export const PROXY_V1_MAX_BYTES = 107;
/**
 * Longest v2 header accepted, TLVs included. The format allows 16 + 65535 bytes; load balancers
 * send far less (addresses plus a few TLVs), and a bound keeps a stalled peer from holding memory.
 */
export const PROXY_V2_MAX_BYTES = 4096;

const V1_PREFIX = 'PROXY ';
const V2_VERSION = 0x2;
const V2_COMMAND_LOCAL = 0x0;
const V2_COMMAND_PROXY = 0x1;
const V2_FAMILY_INET = 0x1;
const V2_FAMILY_INET6 = 0x2;
const V2_PROTOCOL_STREAM = 0x1;
const V2_INET_ADDRESS_BYTES = 12;
const V2_INET6_ADDRESS_BYTES = 36;
const MAX_PORT = 65_535;

/** One endpoint named by a header. */
export interface ProxyEndpoint {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
}

/**
 * A parsed header. `proxied`: the connection was relayed for `source` (the real client) to
 * `destination`. `local`: a health check or v1 `UNKNOWN`: the connection's own addresses apply.
 */
export type ProxyHeader =
  | {
      readonly kind: 'proxied';
      readonly version: 1 | 2;
      readonly source: ProxyEndpoint;
      readonly destination: ProxyEndpoint;
    }
  | { readonly kind: 'local'; readonly version: 1 | 2 };

/** What {@link parseProxyHeader} found in the bytes received so far. */
export type ProxyParseResult =
  | { readonly status: 'incomplete' }
  | { readonly status: 'done'; readonly header: ProxyHeader; readonly headerBytes: number };

/**
 * Parses a PROXY protocol header at the start of `bytes`. Returns `incomplete` while more bytes
 * are needed, else the header and its length: the caller hands `bytes.subarray(headerBytes)` on
 * to the protocol that follows. Never looks past the header's own length.
 * @throws ProxyProtocolError for anything that is not a valid v1 or v2 header, or is too long.
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyParseResult {
  if (bytes.length === 0) return { status: 'incomplete' };
  if (bytes[0] === PROXY_V2_SIGNATURE[0]) return parseV2(bytes);
  if (bytes[0] === V1_PREFIX.charCodeAt(0)) return parseV1(bytes);
  throw new ProxyProtocolError(`no header: first byte 0x${hexByte(bytes[0] ?? 0)}`);
}

function hexByte(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function parseV1(bytes: Uint8Array): ProxyParseResult {
  const limit = Math.min(bytes.length, PROXY_V1_MAX_BYTES);
  for (let i = 0; i < Math.min(limit, V1_PREFIX.length); i++) {
    if (bytes[i] !== V1_PREFIX.charCodeAt(i)) throw new ProxyProtocolError('v1: bad signature');
  }
  let end = -1;
  for (let i = 1; i < limit; i++) {
    if (bytes[i - 1] === 0x0d && bytes[i] === 0x0a) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) {
    if (bytes.length >= PROXY_V1_MAX_BYTES)
      throw new ProxyProtocolError(`v1: no CRLF in the first ${PROXY_V1_MAX_BYTES} bytes`);
    return { status: 'incomplete' };
  }
  let line = '';
  for (let i = 0; i < end - 2; i++) line += String.fromCharCode(bytes[i] ?? 0);
  return { status: 'done', header: parseV1Line(line), headerBytes: end };
}

function parseV1Line(line: string): ProxyHeader {
  const parts = line.split(' ');
  const protocol = parts[1];
  if (protocol === 'UNKNOWN') return { kind: 'local', version: 1 };
  if ((protocol !== 'TCP4' && protocol !== 'TCP6') || parts.length !== 6)
    throw new ProxyProtocolError(`v1: expected TCP4, TCP6 or UNKNOWN and 4 fields`);
  const family = protocol === 'TCP4' ? 4 : 6;
  return {
    kind: 'proxied',
    version: 1,
    source: v1Endpoint(family, parts[2] ?? '', parts[4] ?? ''),
    destination: v1Endpoint(family, parts[3] ?? '', parts[5] ?? ''),
  };
}

function v1Endpoint(family: 4 | 6, addressText: string, portText: string): ProxyEndpoint {
  const port = Number(portText);
  if (!/^(0|[1-9][0-9]{0,4})$/.test(portText) || port > MAX_PORT)
    throw new ProxyProtocolError(`v1: bad port '${portText.slice(0, 8)}'`);
  // The codec's strict parser: no zone ids, no shorthand, no leading zeros.
  const bytes = parseIp(addressText);
  if (bytes?.length !== (family === 4 ? 4 : 16))
    throw new ProxyProtocolError(`v1: bad TCP${family} address '${addressText.slice(0, 45)}'`);
  return { family, address: formatIp(bytes), port };
}

function parseV2(bytes: Uint8Array): ProxyParseResult {
  const signatureBytes = Math.min(bytes.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < signatureBytes; i++) {
    if (bytes[i] !== PROXY_V2_SIGNATURE[i]) throw new ProxyProtocolError('v2: bad signature');
  }
  if (bytes.length < PROXY_V2_FIXED_BYTES) return { status: 'incomplete' };
  const versionCommand = bytes[12] ?? 0;
  if (versionCommand >> 4 !== V2_VERSION)
    throw new ProxyProtocolError(`v2: version ${versionCommand >> 4}, expected 2`);
  const command = versionCommand & 0x0f;
  if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY)
    throw new ProxyProtocolError(`v2: unknown command ${command}`);
  const length = ((bytes[14] ?? 0) << 8) | (bytes[15] ?? 0);
  const total = PROXY_V2_FIXED_BYTES + length;
  if (total > PROXY_V2_MAX_BYTES)
    throw new ProxyProtocolError(`v2: header of ${total} bytes exceeds ${PROXY_V2_MAX_BYTES}`);
  if (bytes.length < total) return { status: 'incomplete' };
  const header =
    command === V2_COMMAND_LOCAL
      ? ({ kind: 'local', version: 2 } as const)
      : parseV2Addresses(bytes[13] ?? 0, bytes.subarray(PROXY_V2_FIXED_BYTES, total));
  return { status: 'done', header, headerBytes: total };
}

function parseV2Addresses(familyProtocol: number, body: Uint8Array): ProxyHeader {
  const family = familyProtocol >> 4;
  const protocol = familyProtocol & 0x0f;
  // UNSPEC, UNIX sockets and datagrams carry no TCP client address: use the connection's own.
  if (protocol !== V2_PROTOCOL_STREAM || (family !== V2_FAMILY_INET && family !== V2_FAMILY_INET6))
    return { kind: 'local', version: 2 };
  const addressBytes = family === V2_FAMILY_INET ? 4 : 16;
  const needed = family === V2_FAMILY_INET ? V2_INET_ADDRESS_BYTES : V2_INET6_ADDRESS_BYTES;
  if (body.length < needed)
    throw new ProxyProtocolError(`v2: address block of ${body.length} bytes, need ${needed}`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const ip = family === V2_FAMILY_INET ? 4 : 6;
  const endpoint = (addressAt: number, portAt: number): ProxyEndpoint => ({
    family: ip,
    address: formatIp(body.slice(addressAt, addressAt + addressBytes)),
    port: view.getUint16(portAt),
  });
  return {
    kind: 'proxied',
    version: 2,
    source: endpoint(0, 2 * addressBytes),
    destination: endpoint(addressBytes, 2 * addressBytes + 2),
  };
}
