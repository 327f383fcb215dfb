/**
 * RedisIssuedUsers: the cluster-wide `maxUsersPerChannel`. The uids holding unexpired
 * credentials of an app's channel are a Redis sorted set (uid scored by expiry, Redis time is
 * not needed: expiries come from the issuing node's clock, as the credentials themselves do).
 * One script drops expired holders, checks the limit and records the uid, so API nodes issuing
 * at the same moment can never pass the limit together.
 *
 * While Redis is unreachable the node decides from its own memory (what it issued, plus what it
 * saw before the fault), so issuing goes on; the fault is logged once per outage and visible in
 * `cloudproxy_cluster_store_up{store="redis"}`.
 * @module
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { IssuedUsers, IssuedUsersLedger } from '../enforcement/issued-users.js';
import { LuaScript } from './lua-script.js';

/** The sorted set uid → expiry (ms) of the holders of an app's channel. */
export function holdersKey(appId: string, channel: string): string {
  return `cp:users:${appId}:${channel}`;
}

/**
 * KEYS[1] holders; ARGV: uid, max (-1: none), expiry ms, now ms. Returns 1 when recorded, 0 when
 * `max` other uids hold unexpired credentials. The key expires with its last holder (relative
 * to `now`, so that the node's and Redis's clocks need not agree).
 */
const CLAIM = new LuaScript(
  'claim-user',
  `
local key, uid = KEYS[1], ARGV[1]
local max, expires, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local held = redis.call('ZSCORE', key, uid)
if not held and max >= 0 and redis.call('ZCARD', key) >= max then return 0 end
if not held or tonumber(held) < expires then redis.call('ZADD', key, expires, uid) end
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', key, math.max(1, tonumber(last[2]) - now))
return 1
`,
);

/** The holders of credentials in Redis, with this node's memory as the fallback. */
export class RedisIssuedUsers implements IssuedUsersLedger {
  readonly #redis: Redis;
  readonly #local: IssuedUsers;
  readonly #logger: Logger | undefined;
  #faulty = false;

  constructor(options: { redis: Redis; local: IssuedUsers; logger?: Logger | undefined }) {
    this.#redis = options.redis;
    this.#local = options.local;
    this.#logger = options.logger;
  }

  /** {@inheritDoc IssuedUsersLedger.claim} */
  async claim(
    appId: string,
    channel: string,
    uid: string,
    max: number | undefined,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<boolean> {
    try {
      const recorded = await CLAIM.run(
        this.#redis,
        [holdersKey(appId, channel)],
        [uid, max ?? -1, expiresAtMs, nowMs],
      );
      this.#faulty = false;
      if (recorded === 1) this.#local.record(appId, channel, uid, expiresAtMs);
      return recorded === 1;
    } catch (error) {
      if (!this.#faulty)
        this.#logger?.warn(
          { event: 'cluster.users-fallback', err: error },
          'redis is unreachable: maxUsersPerChannel is checked against this node only',
        );
      this.#faulty = true;
      return this.#local.claim(appId, channel, uid, max, expiresAtMs, nowMs);
    }
  }

  /** {@inheritDoc IssuedUsersLedger.forget} */
  forget(appId: string, channel: string, uid: string | undefined): void {
    this.#local.forget(appId, channel, uid);
    const key = holdersKey(appId, channel);
    const done = uid === undefined ? this.#redis.del(key) : this.#redis.zrem(key, uid);
    done.catch((error: unknown) => {
      this.#logger?.warn(
        { event: 'cluster.users-forget-failed', err: error },
        'redis is unreachable: a revoked uid still counts until its credentials expire',
      );
    });
  }
}
