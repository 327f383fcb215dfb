/**
 * Reads a PROXY protocol header off a connection from a configured load balancer, and decides
 * which sources must send one. What follows the header stays in the socket for the next reader.
 * @module
 */
import type net from 'node:net';
import type { TransportAddress } from '@cloudproxy/stun';
import { ProxyProtocolError } from '../errors.js';
import { parseIp } from '../peer-policy/ip-address.js';
import { parseIpRange, rangeContains } from '../peer-policy/ip-range.js';
import type { IpRange } from '../peer-policy/ip-range.js';
import { PROXY_V2_MAX_BYTES, parseProxyHeader } from '../proxy-protocol.js';
import type { ProxyHeader } from '../proxy-protocol.js';

/** How long a load balancer may take to send its header (it sends it at once). */
export const PROXY_HEADER_TIMEOUT_MS = 5_000;

/** The set of addresses whose connections start with a PROXY protocol header. */
export interface ProxySources {
  /** Whether connections from `address` (any spelling, IPv4-mapped included) must send one. */
  has(address: string | undefined): boolean;
  /** Whether any source is configured. */
  readonly enabled: boolean;
}

/**
 * Builds the source set from CIDRs or addresses (`10.0.0.0/8`, `2001:db8::5`).
 * @throws InvalidOptionError naming `option[i]` for a malformed range.
 */
export function createProxySources(
  ranges: readonly string[],
  option = 'proxyProtocolFrom',
): ProxySources {
  const parsed: IpRange[] = ranges.map((text, i) => parseIpRange(text, `${option}[${i}]`));
  return {
    enabled: parsed.length > 0,
    has: (address) => {
      if (parsed.length === 0 || address === undefined) return false;
      let bytes = parseIp(address);
      if (bytes === undefined) return false;
      // Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; ranges store them as IPv4.
      if (bytes.length === 16 && bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff)))
        bytes = bytes.subarray(12);
      const candidate = bytes;
      return parsed.some((range) => rangeContains(range, candidate));
    },
  };
}

/** The client a header names, as a TURN transport address; undefined for LOCAL/UNKNOWN. */
export function proxiedClient(header: ProxyHeader): TransportAddress | undefined {
  return header.kind === 'proxied' ? header.source : undefined;
}

/**
 * Reads a PROXY protocol header from `socket` (paused mode, no other reader attached yet) and
 * unshifts whatever followed it. Reads at most the header's maximum length before deciding.
 * @throws ProxyProtocolError when the bytes are not a header, the peer closes, or `timeoutMs`
 *   passes first. The caller closes the socket.
 */
export function readProxyHeader(
  socket: net.Socket,
  timeoutMs = PROXY_HEADER_TIMEOUT_MS,
): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const finish = (error: Error | undefined, header?: ProxyHeader, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      if (error) reject(error);
      else if (header) resolve(header);
    };
    const onEnd = (): void => {
      finish(new ProxyProtocolError(`connection ended after ${received.length} bytes`));
    };
    const onReadable = (): void => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk;
        chunk = socket.read() as Buffer | null
      ) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        let result;
        try {
          result = parseProxyHeader(received.subarray(0, PROXY_V2_MAX_BYTES));
        } catch (error) {
          finish(error as Error);
          return;
        }
        if (result.status === 'done') {
          finish(undefined, result.header, received.subarray(result.headerBytes));
          return;
        }
      }
    };
    const timer = setTimeout(() => {
      finish(new ProxyProtocolError(`no complete header within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}
