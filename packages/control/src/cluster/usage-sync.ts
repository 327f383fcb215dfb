/**
 * Usage in cluster mode. Relay nodes push their pending usage deltas (the `UsageMeter` rows) to
 * Redis every usage interval: one script adds them to `cp:usage:<[app, channel, day]>` hashes
 * and marks the rows dirty. API nodes roll them up: under a Redis lock (only one roll-up runs at
 * a time), a script moves a batch of dirty rows into `cp:usage:inflight`, the batch is added to
 * PostgreSQL in one transaction, then the in-flight hash is deleted. A roll-up that dies between
 * the two leaves the batch in flight and the next one retries it (at least once: a crash after
 * the commit and before the delete counts that batch twice).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Transport, UsageRow } from '../model.js';
import type { UsageRepo } from '../store/usage-repo.js';
import { LuaScript } from './lua-script.js';

const DIRTY_KEY = 'cp:usage:dirty';
const INFLIGHT_KEY = 'cp:usage:inflight';
const LOCK_KEY = 'cp:lock:rollup';
const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];

/** push: ARGV[1] = JSON `[[app, channel, day, peak, n, ms, iu, ou, it, ot, is, os], …]`. */
const PUSH = new LuaScript(
  'usage-push',
  `
local fields = {'n', 'ms', 'iu', 'ou', 'it', 'ot', 'is', 'os'}
for _, r in ipairs(cjson.decode(ARGV[1])) do
  local id = cjson.encode({r[1], r[2], r[3]})
  local key = 'cp:usage:' .. id
  for i, f in ipairs(fields) do
    if r[4 + i] ~= '0' then redis.call('HINCRBY', key, f, r[4 + i]) end
  end
  if tonumber(r[4]) > tonumber(redis.call('HGET', key, 'p') or '0') then
    redis.call('HSET', key, 'p', r[4])
  end
  redis.call('SADD', '${DIRTY_KEY}', id)
end
return 1
`,
);

/** take: moves up to ARGV[1] dirty rows in flight (unless a batch is in flight already). */
const TAKE = new LuaScript(
  'usage-take',
  `
if redis.call('EXISTS', '${INFLIGHT_KEY}') == 0 then
  for _, id in ipairs(redis.call('SPOP', '${DIRTY_KEY}', tonumber(ARGV[1]))) do
    local key = 'cp:usage:' .. id
    redis.call('HSET', '${INFLIGHT_KEY}', id, cjson.encode(redis.call('HGETALL', key)))
    redis.call('DEL', key)
  end
end
return redis.call('HGETALL', '${INFLIGHT_KEY}')
`,
);

/** unlock: deletes the lock only when this holder still owns it. */
const UNLOCK = new LuaScript(
  'unlock',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
);

/** The counters of a row in the order of the push script's `fields`. */
function toFields(row: UsageRow): string[] {
  const values = [row.allocations, Math.round(row.relayMs)];
  for (const t of TRANSPORTS) values.push(row.bytesIn[t], row.bytesOut[t]);
  return values.map((v) => String(v));
}

/** Adds usage deltas to Redis (one script call). */
export async function pushUsage(redis: Redis, rows: readonly UsageRow[]): Promise<void> {
  if (rows.length === 0) return;
  const encoded = rows.map((r) => [
    r.appId,
    r.channel,
    r.day,
    String(r.peakProxyUsers),
    ...toFields(r),
  ]);
  await PUSH.run(redis, [], [JSON.stringify(encoded)]);
}

function fromRedis(id: string, flat: readonly string[]): UsageRow {
  const [appId = '', channel = '', day = ''] = JSON.parse(id) as string[];
  const values = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) values.set(flat[i] ?? '', Number(flat[i + 1]));
  const get = (f: string): number => values.get(f) ?? 0;
  return {
    appId,
    channel,
    day,
    allocations: get('n'),
    relayMs: get('ms'),
    bytesIn: { udp: get('iu'), tcp: get('it'), tls: get('is') },
    bytesOut: { udp: get('ou'), tcp: get('ot'), tls: get('os') },
    peakProxyUsers: get('p'),
  };
}

/** A hash read back from its JSON (Redis encodes an empty list as `{}`). */
function flatOf(json: string | undefined): string[] {
  const parsed: unknown = JSON.parse(json ?? '[]');
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

/** Runs roll-ups of Redis usage into the store. */
export class UsageRollup {
  readonly #redis: Redis;
  readonly #repo: UsageRepo;
  readonly #lockMs: number;
  readonly #batch: number;

  constructor(options: { redis: Redis; repo: UsageRepo; lockMs?: number; batchRows?: number }) {
    this.#redis = options.redis;
    this.#repo = options.repo;
    this.#lockMs = options.lockMs ?? 30_000;
    this.#batch = options.batchRows ?? 500;
  }

  /**
   * One roll-up when the lock is free: batches until nothing is dirty (at most 100 batches).
   * Returns the rows written, or -1 when another node holds the lock.
   */
  async run(): Promise<number> {
    const token = randomBytes(12).toString('hex');
    const locked = await this.#redis.set(LOCK_KEY, token, 'PX', this.#lockMs, 'NX');
    if (locked !== 'OK') return -1;
    let written = 0;
    try {
      for (let i = 0; i < 100; i++) {
        const flat = (await TAKE.run(this.#redis, [], [this.#batch])) as string[];
        if (flat.length === 0) break;
        const rows: UsageRow[] = [];
        for (let j = 0; j + 1 < flat.length; j += 2)
          rows.push(fromRedis(flat[j] ?? '[]', flatOf(flat[j + 1])));
        await this.#repo.add(rows);
        await this.#redis.del(INFLIGHT_KEY);
        written += rows.length;
      }
    } finally {
      await UNLOCK.run(this.#redis, [LOCK_KEY], [token]);
    }
    return written;
  }
}
