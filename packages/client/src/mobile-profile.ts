/**
 * The "mobile" validation profile: the restrictions native calling SDKs put on a media proxy
 * (one TURN server reached over UDP at an IPv4 address, with a realm).
 * @module
 */
import { ClientErrorCode, CloudProxyError, isCloudProxyError } from './errors.js';
import { validateIceServers, type ValidatedIceServer } from './ice-servers.js';

/** Prefix of every message of the mobile profile (native SDKs print the same words). */
export const MEDIA_PROXY_PREFIX = 'Failed to set media proxy: ';

/** The native media proxy settings the mobile profile resolves to. */
export interface MobileMediaProxy {
  /** IPv4 address of the TURN server. */
  readonly address: string;
  /** UDP port; 3478 when the URL has none. */
  readonly udpPort: number;
  readonly username: string;
  readonly credential: string;
  readonly realm: string;
}

function refuse(field: string, reason: string, cause?: unknown): never {
  throw new CloudProxyError(ClientErrorCode.MediaProxyInvalid, `${MEDIA_PROXY_PREFIX}${reason}`, {
    field,
    cause,
  });
}

/**
 * Validates `iceServers` (at `field`) with the web rules and then the mobile restrictions;
 * every refusal is a `MEDIA_PROXY_INVALID` {@link CloudProxyError} whose message starts with
 * `Failed to set media proxy: ` (a web-rule error is kept as its `cause`).
 *
 * @example
 * validateMobileMediaProxy(
 *   [{ urls: 'turn:203.0.113.7', username: 'u', credential: 'p', realm: 'example.com' }],
 *   'networkConfiguration.turn.iceServers',
 * ); // { address: '203.0.113.7', udpPort: 3478, … }
 */
export function validateMobileMediaProxy(iceServers: unknown, field: string): MobileMediaProxy {
  let servers: ValidatedIceServer[];
  try {
    servers = validateIceServers(iceServers, field);
  } catch (err) {
    if (!isCloudProxyError(err)) throw err;
    refuse(err.field ?? field, err.message, err);
  }
  const [server] = servers;
  if (servers.length !== 1 || server === undefined) {
    refuse(field, `${field} must hold exactly one server, got ${servers.length}`);
  }
  const at = `${field}[0]`;
  if (server.urls.length !== 1) {
    refuse(`${at}.urls`, `${at}.urls must hold exactly one URL, got ${server.urls.length}`);
  }
  const url = server.urls[0];
  const urlField = `${at}.urls`;
  if (url?.scheme !== 'turn') refuse(urlField, `${urlField} must be a turn: URL`);
  if (url.hostKind !== 'ipv4') {
    refuse(urlField, `${urlField} host '${url.host}' must be an IPv4 address`);
  }
  if (url.transport !== 'udp') {
    refuse(urlField, `${urlField} transport must be udp, got ${url.transport}`);
  }
  if (server.realm === undefined || server.realm === '') {
    refuse(`${at}.realm`, `${at}.realm is required`);
  }
  return {
    address: url.host,
    udpPort: url.port,
    username: server.username ?? '',
    credential: server.credential ?? '',
    realm: server.realm,
  };
}
