/**
 * The cluster-wide `maxUsersPerChannel` against a real redis-server: two API nodes share the
 * limit, expired holders free their place, a revoked uid frees its place, and a node whose Redis
 * is gone falls back to its own memory.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../../../test/helpers/redis.js';
import type { RedisServer } from '../../../../test/helpers/redis.js';
import { IssuedUsers } from '../enforcement/issued-users.js';
import { RedisIssuedUsers, holdersKey } from './issued-users-redis.js';

let server: RedisServer;
const clients: Redis[] = [];
const APP = 'b'.repeat(32);

/** A node's ledger; `url` of a dead server: commands fail at once, as the cluster's do. */
function node(url?: string): RedisIssuedUsers {
  const redis =
    url === undefined
      ? new Redis(server.url)
      : new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  clients.push(redis);
  return new RedisIssuedUsers({ redis, local: new IssuedUsers() });
}

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server.stop();
});

describe('maxUsersPerChannel across API nodes (Redis)', () => {
  it('holds the limit across two nodes; expiry and revocation free places', async () => {
    const [a, b] = [node(), node()];
    const now = 1_000_000;
    expect(await a.claim(APP, 'room', 'alice', 2, now + 200_000, now)).toBe(true);
    expect(await b.claim(APP, 'room', 'bob', 2, now + 5_000, now)).toBe(true);
    // A third uid is refused on either node; a holder renews on the other node.
    expect(await a.claim(APP, 'room', 'carol', 2, now + 60_000, now)).toBe(false);
    expect(await b.claim(APP, 'room', 'carol', 2, now + 60_000, now)).toBe(false);
    expect(await a.claim(APP, 'room', 'bob', 2, now + 90_000, now)).toBe(true);
    // Other channels are counted apart.
    expect(await b.claim(APP, 'other', 'carol', 2, now + 60_000, now)).toBe(true);
    // Bob's renewed credentials expire at +90 s: carol gets his place after that.
    expect(await b.claim(APP, 'room', 'carol', 2, now + 120_000, now + 80_000)).toBe(false);
    expect(await b.claim(APP, 'room', 'carol', 2, now + 120_000, now + 90_001)).toBe(true);
    // Revoking carol (on node a) frees her place for dave on node b.
    a.forget(APP, 'room', 'carol');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await b.claim(APP, 'room', 'dave', 2, now + 120_000, now + 90_002)).toBe(true);
    const direct = clients[0];
    expect(await direct?.zrange(holdersKey(APP, 'room'), 0, -1)).toEqual(['dave', 'alice']);
    expect(await direct?.pttl(holdersKey(APP, 'room'))).toBeGreaterThan(0);
  });

  it('falls back to the node own memory when Redis is unreachable', async () => {
    const lost = node('redis://127.0.0.1:1');
    const now = 2_000_000;
    expect(await lost.claim(APP, 'solo', 'alice', 1, now + 60_000, now)).toBe(true);
    expect(await lost.claim(APP, 'solo', 'bob', 1, now + 60_000, now)).toBe(false);
    expect(await lost.claim(APP, 'solo', 'alice', 1, now + 90_000, now)).toBe(true);
  });
});
