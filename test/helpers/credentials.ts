/**
 * TURN REST API ephemeral credentials (draft-uberti-behave-turn-rest, as coturn implements them):
 * username `${expiryUnixS}:${name}`, password base64(HMAC-SHA1(secret, username)).
 */
import { createHmac } from 'node:crypto';

export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export interface RestCredentials {
  username: string;
  password: string;
}

/** Credentials for `name` valid for `ttlS` seconds from `nowMs` (default: now). */
export function restCredentials(
  secret: string,
  name: string,
  ttlS = 3600,
  nowMs = Date.now(),
): RestCredentials {
  const username = `${Math.floor(nowMs / 1000) + ttlS}:${name}`;
  return { username, password: restPassword(secret, username) };
}
