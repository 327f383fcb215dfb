/**
 * Credential sources: the control plane's credential endpoint (with a client token) or a
 * callback the app supplies. Both yield validated ICE servers and an expiry.
 * @module
 */
import { ClientErrorCode, CloudProxyError, isCloudProxyError } from './errors.js';
import {
  describeValue,
  isRecord,
  validateIceServers,
  type IceServerConfig,
  type ValidatedIceServer,
} from './ice-servers.js';
import type { ProxyMode } from './modes.js';
import { isLocalHostname } from './proxy-url.js';

/** The control plane's credential endpoint (`POST /api/v1/apps/{appId}/credentials`). */
export interface CredentialsEndpoint {
  /** Absolute URL, e.g. `https://node.example.com/api/v1/apps/<appId>/credentials`. */
  readonly endpoint: string;
  /** A client token (or app key), or a function returning a current one. */
  readonly token: string | (() => string | Promise<string>);
  readonly channel: string;
  readonly uid: string;
  /** Credential lifetime asked for, in seconds (the server caps it). */
  readonly ttlS?: number;
}

/** What a credentials callback returns. */
export interface IssuedCredentials {
  readonly iceServers: readonly IceServerConfig[];
  /** When the credentials expire: a Date, an ISO 8601 string or epoch milliseconds. */
  readonly expiresAt?: Date | string | number;
}

/** A credentials callback: called with the mode whenever credentials are needed. */
export type CredentialsCallback = (
  mode: ProxyMode,
) => IssuedCredentials | Promise<IssuedCredentials>;

/** Where credentials come from. */
export type CredentialsSource = CredentialsEndpoint | CredentialsCallback;

/** Credentials ready to use. */
export interface Credentials {
  readonly servers: readonly ValidatedIceServer[];
  /** Epoch ms at which they expire; undefined when they never do. */
  readonly expiresAtMs: number | undefined;
  /** Epoch ms at which they were obtained. */
  readonly obtainedAtMs: number;
}

/** Obtains credentials for a mode; rejects with `CREDENTIALS_FAILED`. */
export type CredentialProvider = (mode: ProxyMode) => Promise<Credentials>;

function invalid(field: string, reason: string): never {
  throw new CloudProxyError(ClientErrorCode.InvalidOption, `${field}: ${reason}`, { field });
}

function failed(message: string, cause?: unknown): CloudProxyError {
  return new CloudProxyError(ClientErrorCode.CredentialsFailed, message, {
    field: 'credentials',
    cause,
  });
}

function nonEmptyString(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') {
    invalid(field, `expected a non-empty string, got ${describeValue(value)}`);
  }
}

/**
 * Validates a credentials source at `field` (default `credentials`): a function, or an endpoint
 * object with an absolute https `endpoint` (http for localhost), a `token`, `channel` and `uid`.
 */
export function validateCredentialsSource(
  value: unknown,
  field = 'credentials',
): CredentialsSource {
  if (typeof value === 'function') return value as CredentialsCallback;
  if (!isRecord(value))
    invalid(field, `expected an object or a function, got ${describeValue(value)}`);
  const endpoint = value['endpoint'];
  nonEmptyString(endpoint, `${field}.endpoint`);
  let url: URL | undefined;
  try {
    url = new URL(endpoint as string);
  } catch {
    url = undefined;
  }
  const secure =
    url?.protocol === 'https:' || (url?.protocol === 'http:' && isLocalHostname(url.hostname));
  if (!secure) {
    invalid(`${field}.endpoint`, `${describeValue(endpoint)} must be an absolute https URL`);
  }
  if (typeof value['token'] !== 'function') nonEmptyString(value['token'], `${field}.token`);
  nonEmptyString(value['channel'], `${field}.channel`);
  nonEmptyString(value['uid'], `${field}.uid`);
  const ttl = value['ttlS'];
  if (ttl !== undefined && !(typeof ttl === 'number' && Number.isInteger(ttl) && ttl > 0)) {
    invalid(`${field}.ttlS`, `expected a positive integer, got ${describeValue(ttl)}`);
  }
  return value as unknown as CredentialsEndpoint;
}

/** Parses an expiry given as Date, ISO string or epoch ms; undefined when absent. */
export function parseExpiry(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? Date.parse(value)
          : NaN;
  if (!Number.isFinite(ms)) throw failed(`${field}: ${describeValue(value)} is not a time`);
  return ms;
}

function toCredentials(answer: unknown, source: string, nowMs: number): Credentials {
  if (!isRecord(answer)) throw failed(`${source} returned ${describeValue(answer)}, not an object`);
  let servers: ValidatedIceServer[];
  try {
    servers = validateIceServers(answer['iceServers'], `${source}.iceServers`);
  } catch (err) {
    if (!isCloudProxyError(err)) throw err;
    throw failed(`${source} returned unusable ICE servers: ${err.message}`, err);
  }
  let expiresAtMs = parseExpiry(answer['expiresAt'], `${source}.expiresAt`);
  const ttl = answer['ttl'];
  if (expiresAtMs === undefined && typeof ttl === 'number' && ttl > 0) {
    expiresAtMs = nowMs + ttl * 1000;
  }
  return { servers, expiresAtMs, obtainedAtMs: nowMs };
}

async function refusalText(response: Response): Promise<string> {
  let body: unknown;
  try {
    body = await response.json();
  } catch (err) {
    return `${response.status} ${response.statusText} (body not JSON: ${String(err)})`;
  }
  if (!isRecord(body)) return `${response.status}`;
  const code = typeof body['code'] === 'string' ? ` ${body['code']}` : '';
  const detail = typeof body['detail'] === 'string' ? `: ${body['detail']}` : '';
  return `${response.status}${code}${detail}`;
}

async function fromEndpoint(
  source: CredentialsEndpoint,
  mode: ProxyMode,
  fetchImpl: typeof fetch,
): Promise<unknown> {
  const token = typeof source.token === 'function' ? await source.token() : source.token;
  const body: Record<string, unknown> = { channel: source.channel, uid: source.uid, mode };
  if (source.ttlS !== undefined) body['ttl'] = source.ttlS;
  let response: Response;
  try {
    response = await fetchImpl(source.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw failed(`credential endpoint ${source.endpoint} unreachable: ${String(err)}`, err);
  }
  if (!response.ok) {
    throw failed(`credential endpoint refused: ${await refusalText(response)}`);
  }
  try {
    return await response.json();
  } catch (err) {
    throw failed(`credential endpoint answered with invalid JSON: ${String(err)}`, err);
  }
}

/**
 * Creates the provider for a source. Endpoint requests are `POST` with
 * `{ channel, uid, mode, ttl? }` and `Authorization: Bearer <token>`; the answer (or the
 * callback's result) is validated like app-given ICE servers. Every failure rejects with a
 * `CREDENTIALS_FAILED` {@link CloudProxyError} whose `cause` is the underlying error.
 */
export function createCredentialProvider(
  source: CredentialsSource,
  fetchImpl: () => typeof fetch,
  nowMs: () => number,
): CredentialProvider {
  return async (mode) => {
    if (typeof source === 'function') {
      let answer: unknown;
      try {
        answer = await source(mode);
      } catch (err) {
        throw failed(`credentials callback failed for mode ${mode}: ${String(err)}`, err);
      }
      return toCredentials(answer, 'credentials callback', nowMs());
    }
    const answer = await fromEndpoint(source, mode, fetchImpl());
    return toCredentials(answer, 'credential endpoint', nowMs());
  };
}
