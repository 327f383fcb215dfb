/**
 * Long-term credential authentication of TURN requests: static users and the TURN REST
 * ephemeral scheme with several secrets. RFC 8489 §9.2.4, draft-uberti-behave-turn-rest-00 §2.2.
 * @module
 */
import {
  AttrType,
  PasswordAlgorithmId,
  computeUserhash,
  longTermKey,
  nonce as nonceAttr,
  passwordAlgorithm,
  passwordAlgorithms,
  realm as realmAttr,
  username as usernameAttr,
  userhash as userhashAttr,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from '@cloudproxy/stun';
import type { PasswordAlgorithmValue, StunCrypto, StunMessage } from '@cloudproxy/stun';
import type { Clock } from './clock.js';
import type { AuthOptions } from './options.js';
import type { ResolvedAuthOptions } from './options-resolve.js';
import type { NonceIssuer } from './nonce.js';

/** The algorithms this server offers in PASSWORD-ALGORITHMS, in preference order. RFC 8489 §14.11. */
export const SERVER_PASSWORD_ALGORITHMS: readonly PasswordAlgorithmValue[] = [
  { algorithm: PasswordAlgorithmId.Sha256, parameters: new Uint8Array(0) },
  { algorithm: PasswordAlgorithmId.Md5, parameters: new Uint8Array(0) },
];

/** A request that passed authentication. */
export interface AuthSuccess {
  readonly ok: true;
  readonly username: string;
  /** Who quotas count against: the username, or for REST credentials the part after the expiry. */
  readonly quotaUser: string;
  /** The long-term key; responses are signed with it. */
  readonly key: Uint8Array;
  /** The request used MESSAGE-INTEGRITY-SHA256, so the response does too. */
  readonly sha256: boolean;
  /** Unix time in seconds when REST credentials expire; undefined for static users. */
  readonly expiresAtS: number | undefined;
}

/** A request that failed authentication, with the code to answer. */
export interface AuthFailure {
  readonly ok: false;
  readonly code: 400 | 401 | 438;
  readonly cause: string;
  /** Whether this counts as a failed credential check (not the normal first unauthenticated try). */
  readonly credentialed: boolean;
}

export type AuthResult = AuthSuccess | AuthFailure;

interface StaticUser {
  readonly password: string;
  readonly keys: Map<number, Uint8Array>;
}

/** Authenticator checks long-term credentials against static users and REST secrets. */
export class Authenticator {
  readonly #realm: string;
  readonly #crypto: StunCrypto;
  readonly #users = new Map<string, StaticUser>();
  readonly #userhashes = new Map<string, string>();
  readonly #secrets: readonly string[];
  readonly #wallClock: Clock | undefined;
  /** Per-username REST secrets from the control plane (RelayHooks.restSecrets). */
  restSecrets: ((username: string) => readonly string[] | undefined) | undefined;

  constructor(options: {
    realm: string;
    auth: AuthOptions | ResolvedAuthOptions;
    crypto: StunCrypto;
    /**
     * Wall time for the expiry of REST usernames (Unix time written by the issuer); default:
     * the `nowMs` passed to `authenticate`.
     */
    wallClock?: Clock | undefined;
  }) {
    this.#realm = options.realm;
    this.#wallClock = options.wallClock;
    this.#crypto = options.crypto;
    this.#secrets = options.auth.staticAuthSecrets ?? [];
    const entries = userEntries(options.auth.users);
    for (const [name, password] of entries) {
      this.#users.set(name, { password, keys: new Map() });
      this.#userhashes.set(toHex(computeUserhash(name, this.#realm, this.#crypto)), name);
    }
  }

  /** Authenticates `msg` from `clientIp` (RFC 8489 §9.2.4 steps, in order). */
  authenticate(msg: StunMessage, clientIp: string, nonces: NonceIssuer, nowMs: number): AuthResult {
    const sha256 = msg.has(AttrType.MessageIntegritySha256);
    // 1. No MESSAGE-INTEGRITY(-SHA256): 401 with REALM and NONCE (a challenge, not a failure).
    if (!sha256 && !msg.has(AttrType.MessageIntegrity)) {
      return { ok: false, code: 401, cause: 'no message integrity', credentialed: false };
    }
    // 2. Missing USERNAME/USERHASH, REALM or NONCE: 400.
    const name = this.#username(msg);
    const realm = msg.get(realmAttr);
    const nonce = msg.get(nonceAttr);
    if (name === undefined || realm === undefined || nonce === undefined) {
      return {
        ok: false,
        code: 400,
        cause: 'missing username, realm or nonce',
        credentialed: true,
      };
    }
    // 3. PASSWORD-ALGORITHMS must repeat ours and PASSWORD-ALGORITHM pick one of them.
    const algorithm = this.#algorithm(msg);
    if (algorithm === undefined) {
      return { ok: false, code: 400, cause: 'password algorithm mismatch', credentialed: true };
    }
    // 4. Unknown user or realm: 401.
    if (name === '' || realm !== this.#realm) {
      return { ok: false, code: 401, cause: 'unknown user or realm', credentialed: true };
    }
    // 5. Wrong MESSAGE-INTEGRITY(-SHA256): 401.
    const verified = this.#verify(msg, name, algorithm, sha256, nowMs);
    if (!verified.ok) return verified;
    // 6. Only then an invalid or expired NONCE: 438 with a fresh nonce.
    const nonceState = nonces.check(nonce, clientIp, nowMs);
    if (nonceState !== 'valid') {
      return { ok: false, code: 438, cause: `${nonceState} nonce`, credentialed: false };
    }
    return verified;
  }

  #verify(
    msg: StunMessage,
    name: string,
    algorithm: number,
    sha256: boolean,
    nowMs: number,
  ): AuthResult {
    const check = (key: Uint8Array): boolean =>
      sha256
        ? verifyMessageIntegritySha256(msg, key, this.#crypto)
        : verifyMessageIntegrity(msg, key, this.#crypto);
    const user = this.#users.get(name);
    if (user) {
      const key = this.#staticUserKey(name, user, algorithm);
      if (check(key)) return success(name, name, key, sha256, undefined);
      return { ok: false, code: 401, cause: 'wrong password', credentialed: true };
    }
    const rest = parseRestUsername(name);
    const secrets = (rest && this.restSecrets?.(name)) ?? this.#secrets;
    if (rest === undefined || secrets.length === 0) {
      return { ok: false, code: 401, cause: 'unknown user', credentialed: true };
    }
    // The expiry is Unix time set by the issuer (the control plane or an app server), so it is
    // compared with this machine's wall clock, never the monotonic one.
    const wallNowMs = this.#wallClock?.nowMs() ?? nowMs;
    if (rest.expiresAtS * 1000 <= wallNowMs) {
      return { ok: false, code: 401, cause: 'credentials expired', credentialed: true };
    }
    for (const secret of secrets) {
      const key = longTermKey(
        name,
        this.#realm,
        restPassword(secret, name, this.#crypto),
        algorithm as PasswordAlgorithmId,
        this.#crypto,
      );
      if (check(key)) return success(name, rest.user, key, sha256, rest.expiresAtS);
    }
    return { ok: false, code: 401, cause: 'wrong password', credentialed: true };
  }

  #staticUserKey(name: string, user: StaticUser, algorithm: number): Uint8Array {
    let key = user.keys.get(algorithm);
    if (!key) {
      key = longTermKey(
        name,
        this.#realm,
        user.password,
        algorithm as PasswordAlgorithmId,
        this.#crypto,
      );
      user.keys.set(algorithm, key);
    }
    return key;
  }

  #username(msg: StunMessage): string | undefined {
    const name = msg.get(usernameAttr);
    if (name !== undefined) return name;
    const hash = msg.get(userhashAttr);
    // USERHASH only resolves for static users (RFC 8489 §14.4); '' means "unknown".
    return hash === undefined ? undefined : (this.#userhashes.get(toHex(hash)) ?? '');
  }

  #algorithm(msg: StunMessage): number | undefined {
    const offered = msg.get(passwordAlgorithms);
    const chosen = msg.get(passwordAlgorithm);
    if (offered === undefined && chosen === undefined) return PasswordAlgorithmId.Md5;
    if (offered === undefined || chosen === undefined) return undefined;
    const same =
      offered.length === SERVER_PASSWORD_ALGORITHMS.length &&
      offered.every((a, i) => a.algorithm === SERVER_PASSWORD_ALGORITHMS[i]?.algorithm);
    if (!same) return undefined;
    return offered.some((a) => a.algorithm === chosen.algorithm) ? chosen.algorithm : undefined;
  }
}

/** Users as [name, password] pairs, from a Map or a plain object. */
function userEntries(
  users: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined,
): [string, string][] {
  if (users === undefined) return [];
  if (isMap(users)) return [...users.entries()];
  return Object.entries(users);
}

function isMap(
  users: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
): users is ReadonlyMap<string, string> {
  return users instanceof Map;
}

function success(
  username: string,
  quotaUser: string,
  key: Uint8Array,
  sha256: boolean,
  expiresAtS: number | undefined,
): AuthSuccess {
  return { ok: true, username, quotaUser, key, sha256, expiresAtS };
}

/** Splits a TURN REST username `<expiry-unix-seconds>:<rest>`; undefined when it has no expiry. */
export function parseRestUsername(name: string): { expiresAtS: number; user: string } | undefined {
  const colon = name.indexOf(':');
  const head = colon < 0 ? name : name.slice(0, colon);
  if (!/^\d{1,12}$/.test(head)) return undefined;
  return { expiresAtS: Number(head), user: colon < 0 ? '' : name.slice(colon + 1) };
}

/** The TURN REST password: base64(HMAC-SHA1(secret, username)). */
export function restPassword(secret: string, username: string, crypto: StunCrypto): string {
  const encoder = new TextEncoder();
  const mac = crypto.hmacSha1(encoder.encode(secret), encoder.encode(username));
  return Buffer.from(mac.buffer, mac.byteOffset, mac.byteLength).toString('base64');
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
