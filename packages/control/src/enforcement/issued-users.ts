/**
 * IssuedUsers: which uids hold unexpired credentials per app and channel, for the
 * `maxUsersPerChannel` limit checked when credentials are issued. In memory on a single node:
 * after a restart the count starts again from the credentials issued since (documented in
 * docs/api.md). A cluster keeps the holders in Redis (cluster/issued-users-redis.ts), with this
 * memory as its fallback while Redis is unreachable.
 * @module
 */

/** Where the holders of credentials are kept, as the credential service sees it. */
export interface IssuedUsersLedger {
  /**
   * Records that `uid` holds credentials until `expiresAtMs`, unless `max` other uids hold
   * unexpired ones (`max` undefined: no limit). Resolves false when refused.
   */
  claim(
    appId: string,
    channel: string,
    uid: string,
    max: number | undefined,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<boolean>;
  /** Forgets a uid (or a whole channel) after a revocation. */
  forget(appId: string, channel: string, uid: string | undefined): void;
}

/** IssuedUsers tracks uid → expiry per app and channel, in this process. */
export class IssuedUsers implements IssuedUsersLedger {
  readonly #byChannel = new Map<string, Map<string, number>>();

  /** {@inheritDoc IssuedUsersLedger.claim} */
  claim(
    appId: string,
    channel: string,
    uid: string,
    max: number | undefined,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<boolean> {
    if (max !== undefined && this.othersHolding(appId, channel, uid, nowMs) >= max)
      return Promise.resolve(false);
    this.record(appId, channel, uid, expiresAtMs);
    return Promise.resolve(true);
  }

  /** Distinct uids other than `uid` with credentials unexpired at `nowMs`. */
  othersHolding(appId: string, channel: string, uid: string, nowMs: number): number {
    const uids = this.#byChannel.get(`${appId}\0${channel}`);
    if (!uids) return 0;
    let count = 0;
    for (const [other, expiresAtMs] of uids) {
      if (expiresAtMs <= nowMs) uids.delete(other);
      else if (other !== uid) count += 1;
    }
    return count;
  }

  /** Records credentials issued to `uid` until `expiresAtMs`. */
  record(appId: string, channel: string, uid: string, expiresAtMs: number): void {
    const key = `${appId}\0${channel}`;
    let uids = this.#byChannel.get(key);
    if (!uids) {
      uids = new Map();
      this.#byChannel.set(key, uids);
    }
    uids.set(uid, Math.max(expiresAtMs, uids.get(uid) ?? 0));
  }

  /** Forgets a uid (or a whole channel) after a revocation. */
  forget(appId: string, channel: string, uid: string | undefined): void {
    const key = `${appId}\0${channel}`;
    if (uid === undefined) this.#byChannel.delete(key);
    else this.#byChannel.get(key)?.delete(uid);
  }

  /** Drops expired entries (called periodically so that idle channels do not accumulate). */
  sweep(nowMs: number): void {
    for (const [key, uids] of this.#byChannel) {
      for (const [uid, expiresAtMs] of uids) if (expiresAtMs <= nowMs) uids.delete(uid);
      if (uids.size === 0) this.#byChannel.delete(key);
    }
  }
}
