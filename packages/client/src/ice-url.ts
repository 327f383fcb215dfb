/**
 * Parsing of ICE server URLs: the STUN URI of RFC 7064 and the TURN URI of RFC 7065.
 * @module
 */
import { ClientErrorCode, CloudProxyError } from './errors.js';

/** Default port of `stun:` and `turn:` (RFC 7064 §3.2, RFC 7065 §3). */
export const DEFAULT_STUN_PORT = 3478;
/** Default port of `turns:` (RFC 7065 §3), also used for `turn:…?transport=tls`. */
export const DEFAULT_TURNS_PORT = 5349;

/** The schemes accepted: `stuns:` exists (RFC 7064) but no browser implements it. */
export type IceScheme = 'stun' | 'turn' | 'turns';

/** How a relay is reached: `tls` means TLS over TCP (`turns:`). */
export type RelayTransport = 'udp' | 'tcp' | 'tls';

/** The kind of the host part. */
export type IceHostKind = 'ipv4' | 'ipv6' | 'name';

/** A parsed ICE server URL. */
export interface ParsedIceUrl {
  readonly scheme: IceScheme;
  /** The host without IPv6 brackets, as written. */
  readonly host: string;
  readonly hostKind: IceHostKind;
  /** The port, or the scheme's default when absent. */
  readonly port: number;
  readonly portGiven: boolean;
  /**
   * The transport used to reach the server: `?transport=` when given; otherwise `udp` for
   * `stun:`/`turn:` and `tls` for `turns:`. `turns:` with `tcp` or `tls` is `tls`.
   */
  readonly transport: RelayTransport;
  readonly transportGiven: boolean;
}

const SCHEMES: Readonly<Record<string, IceScheme>> = { stun: 'stun', turn: 'turn', turns: 'turns' };
const TRANSPORTS: readonly string[] = ['udp', 'tcp', 'tls'];
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DOTTED_NUMBERS = /^[\d.]+$/;
const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
const PORT = /^\d{1,5}$/;
const MAX_PORT = 65535;

function fail(field: string, reason: string): never {
  throw new CloudProxyError(ClientErrorCode.InvalidIceServerUrl, `${field}: ${reason}`, { field });
}

/** Whether `text` is an IPv6 address (RFC 4291 §2.2 text forms, with an optional IPv4 tail). */
export function isIpv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(':')) return false;
  let body = text;
  let groupsForTail = 0;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!IPV4.test(tail)) return false;
    body = text.slice(0, lastColon + 1) + '0';
    groupsForTail = 1;
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  if (groups.flat().some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const count = groups.flat().length + groupsForTail;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** Whether `text` is a dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

function parseHost(text: string, field: string): { host: string; hostKind: IceHostKind } {
  if (text === '') fail(field, 'the host is empty');
  if (text.startsWith('[')) {
    if (!text.endsWith(']') || !isIpv6(text.slice(1, -1))) {
      fail(field, `'${text}' is not a bracketed IPv6 address`);
    }
    return { host: text.slice(1, -1), hostKind: 'ipv6' };
  }
  if (IPV4.test(text)) return { host: text, hostKind: 'ipv4' };
  if (DOTTED_NUMBERS.test(text)) fail(field, `'${text}' is not a valid IPv4 address`);
  if (text.includes(':')) fail(field, `IPv6 address '${text}' must be in brackets`);
  const labels = text.endsWith('.') ? text.slice(0, -1).split('.') : text.split('.');
  if (text.length > 253 || labels.some((label) => label.length > 63 || !HOST_LABEL.test(label))) {
    fail(field, `'${text}' is not a host name`);
  }
  return { host: text, hostKind: 'name' };
}

function splitAuthority(rest: string): { hostText: string; portText: string | undefined } {
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close !== -1 && rest[close + 1] === ':') {
      return { hostText: rest.slice(0, close + 1), portText: rest.slice(close + 2) };
    }
    return { hostText: rest, portText: undefined };
  }
  const colon = rest.lastIndexOf(':');
  if (colon === -1 || rest.indexOf(':') !== colon) return { hostText: rest, portText: undefined };
  return { hostText: rest.slice(0, colon), portText: rest.slice(colon + 1) };
}

function parsePort(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const port = PORT.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= MAX_PORT)) fail(field, `port '${text}' is not in 1..65535`);
  return port;
}

function parseQuery(
  scheme: IceScheme,
  query: string | undefined,
  field: string,
): RelayTransport | undefined {
  if (query === undefined) return undefined;
  if (scheme === 'stun') fail(field, 'a stun: URI takes no query (RFC 7064 §3.1)');
  const match = /^transport=(.*)$/i.exec(query);
  if (!match) fail(field, `unknown query '?${query}': only ?transport= is defined (RFC 7065 §3)`);
  const value = (match[1] ?? '').toLowerCase();
  if (!TRANSPORTS.includes(value)) {
    throw new CloudProxyError(
      ClientErrorCode.InvalidTransport,
      `${field}: transport '${match[1] ?? ''}' is not one of udp, tcp, tls`,
      { field },
    );
  }
  if (scheme === 'turns' && value === 'udp') {
    throw new CloudProxyError(
      ClientErrorCode.InvalidTransport,
      `${field}: turns: over udp (DTLS) is not supported by browsers; use turns:…?transport=tcp or turn:…?transport=udp`,
      { field },
    );
  }
  return value as RelayTransport;
}

function effectiveTransport(scheme: IceScheme, given: RelayTransport | undefined): RelayTransport {
  if (scheme === 'turns') return 'tls';
  return given ?? 'udp';
}

/**
 * Parses one ICE server URL: `stun:host[:port]` (RFC 7064 §3.1) or
 * `turn[s]:host[:port][?transport=udp|tcp|tls]` (RFC 7065 §3). A missing transport means UDP
 * for `turn:` and TLS over TCP for `turns:`. Throws {@link CloudProxyError}
 * (`INVALID_ICE_SERVER_URL`, `INVALID_TRANSPORT`) naming `field`.
 *
 * @example
 * parseIceUrl('turns:relay.example.com:443?transport=tcp', 'urls[0]');
 * // { scheme: 'turns', host: 'relay.example.com', port: 443, transport: 'tls', … }
 */
export function parseIceUrl(url: string, field: string): ParsedIceUrl {
  const colon = url.indexOf(':');
  const schemeText = colon === -1 ? '' : url.slice(0, colon).toLowerCase();
  const scheme = SCHEMES[schemeText];
  if (scheme === undefined) {
    fail(field, `'${url}' must start with turn:, turns: or stun:`);
  }
  const afterScheme = url.slice(colon + 1);
  if (afterScheme.startsWith('//')) {
    fail(field, `'${url}': write ${scheme}:host[:port], without '//' (RFC 7065 §3)`);
  }
  const question = afterScheme.indexOf('?');
  const authority = question === -1 ? afterScheme : afterScheme.slice(0, question);
  const query = question === -1 ? undefined : afterScheme.slice(question + 1);
  if (/[/@#\s]/.test(authority)) {
    fail(field, `'${url}' must be ${scheme}:host[:port] with no path, user or fragment`);
  }
  const { hostText, portText } = splitAuthority(authority);
  const { host, hostKind } = parseHost(hostText, field);
  const port = parsePort(portText, field);
  const transport = parseQuery(scheme, query, field);
  const effective = effectiveTransport(scheme, transport);
  return {
    scheme,
    host,
    hostKind,
    port: port ?? (effective === 'tls' ? DEFAULT_TURNS_PORT : DEFAULT_STUN_PORT),
    portGiven: port !== undefined,
    transport: effective,
    transportGiven: transport !== undefined,
  };
}

/**
 * The URL as browsers accept it: `?transport=tls` is not understood by WebRTC stacks, so
 * TLS is written `turns:host:port?transport=tcp`. Other URLs are rebuilt unchanged in meaning.
 */
export function formatIceUrl(url: ParsedIceUrl): string {
  const host = url.hostKind === 'ipv6' ? `[${url.host}]` : url.host;
  const scheme = url.transport === 'tls' ? 'turns' : url.scheme;
  const base = `${scheme}:${host}:${url.port}`;
  if (scheme === 'stun') return base;
  if (!url.transportGiven && scheme === 'turn') return base;
  return `${base}?transport=${url.transport === 'udp' ? 'udp' : 'tcp'}`;
}
