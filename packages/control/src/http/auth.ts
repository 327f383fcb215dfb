/**
 * Authentication of API requests: `Authorization: Bearer <token>` where the token is the admin
 * token (compared in constant time through its SHA-256), an app API key (`cpk_…`, looked up by
 * its SHA-256) or a client token (`cpt.…`, verified statelessly).
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { CLIENT_TOKEN_PREFIX, verifyClientToken } from '../credentials/client-token.js';
import { ApiProblem } from '../errors.js';
import { API_KEY_PREFIX, sha256Hex } from '../store/keys-repo.js';
import type { KeysRepo } from '../store/keys-repo.js';
import type { Principal } from './route.js';

/** How often a key's `lastUsedAt` is written at most. */
const TOUCH_EVERY_MS = 60_000;

/** The bearer token of a request, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Authenticator turns a bearer token into a Principal, or refuses with 401. */
export class Authenticator {
  readonly #adminSha256: Buffer;
  readonly #keys: KeysRepo;
  readonly #clientKey: Buffer;
  readonly #onTouchError: (error: unknown) => void;
  readonly #touched = new Map<string, number>();

  constructor(options: {
    adminSha256Hex: string;
    keys: KeysRepo;
    clientTokenKey: Buffer;
    onTouchError: (error: unknown) => void;
  }) {
    this.#adminSha256 = Buffer.from(options.adminSha256Hex, 'hex');
    this.#keys = options.keys;
    this.#clientKey = options.clientTokenKey;
    this.#onTouchError = options.onTouchError;
  }

  /** The principal of a bearer token at `nowMs`; throws 401 `unauthorized` when it is none. */
  async authenticate(token: string | undefined, nowMs: number): Promise<Principal> {
    if (token === undefined)
      throw new ApiProblem('unauthorized', 'missing Authorization: Bearer <token>');
    if (token.startsWith(API_KEY_PREFIX)) return this.#appKey(token, nowMs);
    if (token.startsWith(CLIENT_TOKEN_PREFIX)) {
      const scope = verifyClientToken(this.#clientKey, token, nowMs);
      if (!scope) throw new ApiProblem('unauthorized', 'client token invalid or expired');
      return { kind: 'client', scope };
    }
    if (this.isAdmin(token)) return { kind: 'admin' };
    throw new ApiProblem('unauthorized', 'unknown bearer token');
  }

  /** Whether `token` is the admin token (its SHA-256 compared in constant time). */
  isAdmin(token: string): boolean {
    return timingSafeEqual(Buffer.from(sha256Hex(token), 'hex'), this.#adminSha256);
  }

  async #appKey(token: string, nowMs: number): Promise<Principal> {
    const key = await this.#keys.findByHash(sha256Hex(token));
    if (!key) throw new ApiProblem('unauthorized', 'unknown or deleted API key');
    const last = this.#touched.get(key.keyId) ?? key.lastUsedAtMs ?? 0;
    if (nowMs - last >= TOUCH_EVERY_MS) {
      this.#touched.set(key.keyId, nowMs);
      this.#keys.touch(key.keyId, nowMs).catch(this.#onTouchError);
    }
    return { kind: 'app', appId: key.appId, keyId: key.keyId };
  }
}
