/**
 * ICE server lists: validation of the shape apps (and credential sources) give, and conversion
 * to the `RTCIceServer[]` a peer connection takes.
 * @module
 */
import { ClientErrorCode, CloudProxyError } from './errors.js';
import { formatIceUrl, parseIceUrl, type ParsedIceUrl } from './ice-url.js';

/**
 * One ICE server as an app writes it: the `RTCIceServer` shape. `realm` is read by the mobile
 * validation profile only and never passed to the browser.
 */
export interface IceServerConfig {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
  readonly realm?: string;
}

/** A validated ICE server: every URL parsed. */
export interface ValidatedIceServer {
  readonly urls: readonly ParsedIceUrl[];
  readonly username: string | undefined;
  readonly credential: string | undefined;
  readonly realm: string | undefined;
}

function invalid(field: string, reason: string): never {
  throw new CloudProxyError(ClientErrorCode.InvalidOption, `${field}: ${reason}`, { field });
}

/** A short description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}…` : value}'`;
  return typeof value;
}

/** Whether `value` is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(
  server: Record<string, unknown>,
  key: string,
  field: string,
): string | undefined {
  const value = server[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    invalid(`${field}.${key}`, `expected a string, got ${describeValue(value)}`);
  return value;
}

function urlList(value: unknown, field: string): { text: string; field: string }[] {
  if (typeof value === 'string') return [{ text: value, field }];
  if (!Array.isArray(value)) {
    invalid(field, `expected a URL string or an array of them, got ${describeValue(value)}`);
  }
  if (value.length === 0) invalid(field, 'the URL list is empty');
  return value.map((text: unknown, i) => {
    if (typeof text !== 'string')
      invalid(`${field}[${i}]`, `expected a string, got ${describeValue(text)}`);
    return { text, field: `${field}[${i}]` };
  });
}

function missingCredential(field: string, key: string, url: string): never {
  throw new CloudProxyError(
    ClientErrorCode.MissingCredential,
    `${field}.${key}: required for ${url.split(':')[0] ?? 'turn'}: URLs such as '${url}'`,
    { field: `${field}.${key}` },
  );
}

/**
 * Validates one ICE server at `field` (e.g. `networkConfiguration.turn.iceServers[0]`): every URL
 * must parse (RFC 7064/7065), and `turn:`/`turns:` URLs need a non-empty `username` and
 * `credential`. Throws {@link CloudProxyError} naming the exact field.
 */
export function validateIceServer(value: unknown, field: string): ValidatedIceServer {
  if (!isRecord(value)) invalid(field, `expected an object, got ${describeValue(value)}`);
  const urls = urlList(value['urls'], `${field}.urls`).map((u) => ({
    text: u.text,
    parsed: parseIceUrl(u.text, u.field),
  }));
  const username = optionalString(value, 'username', field);
  const credential = optionalString(value, 'credential', field);
  const realm = optionalString(value, 'realm', field);
  const turn = urls.find((u) => u.parsed.scheme !== 'stun');
  if (turn !== undefined) {
    if (username === undefined || username === '') missingCredential(field, 'username', turn.text);
    if (credential === undefined || credential === '') {
      missingCredential(field, 'credential', turn.text);
    }
  }
  return { urls: urls.map((u) => u.parsed), username, credential, realm };
}

/**
 * Validates a non-empty list of ICE servers at `field` (see {@link validateIceServer}).
 *
 * @example
 * validateIceServers([{ urls: 'turn:203.0.113.7', username: 'u', credential: 'p' }], 'iceServers');
 */
export function validateIceServers(value: unknown, field: string): ValidatedIceServer[] {
  if (!Array.isArray(value)) invalid(field, `expected an array, got ${describeValue(value)}`);
  if (value.length === 0) invalid(field, 'the list is empty: give at least one ICE server');
  return value.map((server: unknown, i) => validateIceServer(server, `${field}[${i}]`));
}

/**
 * Converts validated servers to `RTCIceServer[]`, keeping only the URLs `keep` accepts (all by
 * default) and dropping servers left without URLs. URLs are written in the form browsers accept
 * (see {@link formatIceUrl}).
 */
export function toRtcIceServers(
  servers: readonly ValidatedIceServer[],
  keep: (url: ParsedIceUrl) => boolean = () => true,
): RTCIceServer[] {
  const out: RTCIceServer[] = [];
  for (const server of servers) {
    const urls = server.urls.filter(keep).map(formatIceUrl);
    if (urls.length === 0) continue;
    const entry: RTCIceServer = { urls };
    if (server.username !== undefined) entry.username = server.username;
    if (server.credential !== undefined) entry.credential = server.credential;
    out.push(entry);
  }
  return out;
}
