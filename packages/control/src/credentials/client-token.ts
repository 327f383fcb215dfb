/**
 * Client tokens: stateless, scoped and expiring bearer tokens a browser may use to fetch its own
 * credentials. `cpt.<base64url(JSON {a, c, u, e})>.<base64url(HMAC-SHA256(serverKey, payload))>`,
 * verified in constant time.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The prefix of every client token. */
export const CLIENT_TOKEN_PREFIX = 'cpt.';

/** What a client token allows: credentials for one app, channel and uid until `expiresAtS`. */
export interface ClientTokenScope {
  readonly appId: string;
  readonly channel: string;
  readonly uid: string;
  readonly expiresAtS: number;
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(`cloudproxy client token\0${payload}`).digest();
}

/** Issues a client token. */
export function signClientToken(key: Buffer, scope: ClientTokenScope): string {
  const payload = Buffer.from(
    JSON.stringify({ a: scope.appId, c: scope.channel, u: scope.uid, e: scope.expiresAtS }),
  ).toString('base64url');
  return `${CLIENT_TOKEN_PREFIX}${payload}.${mac(key, payload).toString('base64url')}`;
}

function isScopeJson(value: unknown): value is { a: string; c: string; u: string; e: number } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['a'] === 'string' &&
    typeof v['c'] === 'string' &&
    typeof v['u'] === 'string' &&
    typeof v['e'] === 'number'
  );
}

/**
 * Verifies a client token: its scope when the signature holds and it has not expired at
 * `nowMs`, else undefined.
 */
export function verifyClientToken(
  key: Buffer,
  token: string,
  nowMs: number,
): ClientTokenScope | undefined {
  if (!token.startsWith(CLIENT_TOKEN_PREFIX)) return undefined;
  const [payload, signature, extra] = token.slice(CLIENT_TOKEN_PREFIX.length).split('.');
  if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
  const expected = mac(key, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isScopeJson(parsed) || parsed.e * 1000 <= nowMs) return undefined;
  return { appId: parsed.a, channel: parsed.c, uid: parsed.u, expiresAtS: parsed.e };
}
