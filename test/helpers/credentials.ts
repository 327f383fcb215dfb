/**
 * TURN REST API ephemeral credentials (draft-uberti-behave-turn-rest, as coturn implements them):
 * username `${expiryUnixS}:${name}`, password base64(HMAC-SHA1(secret, username)).
 */
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';
import { restPassword as serverRestPassword } from '@cloudproxy/turn';

/** The password for `username`: the server's own function, so the vector test covers it. */
export function restPassword(secret: string, username: string): string {
  return serverRestPassword(secret, username, nodeStunCrypto);
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
