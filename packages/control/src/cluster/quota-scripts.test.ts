/**
 * The cluster's Lua scripts against a real redis-server: admission limits across nodes,
 * idempotent release, re-sync replacing a node's leases, reaping a silent node, full notices
 * reaching another node's mirror, and the usage push and roll-up.
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis } from '../../../../test/helpers/redis.js';
import type { RedisServer } from '../../../../test/helpers/redis.js';
import type { Reservation, UsageRow } from '../model.js';
import type { UsageRepo } from '../store/usage-repo.js';
import { createClusterMetrics } from './cluster-metrics.js';
import { ClusterQuota } from './cluster-quota.js';
import type { QuotaNotice } from './cluster-quota.js';
import {
  ADMIT,
  HEARTBEAT,
  NODES_KEY,
  QUOTA_CHANNEL,
  REAP,
  RELEASE,
  channelsKey,
  leaseKey,
  nodeKey,
  uidsKey,
} from './quota-scripts.js';
import { UsageRollup, pushUsage } from './usage-sync.js';

let server: RedisServer;
let redis: Redis;
const APP = 'a'.repeat(32);

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

function admit(node: string, lease: string, channel: string, uid: string, limits = [2, 2]) {
  return ADMIT.run(
    redis,
    [channelsKey('eu', APP), uidsKey('eu', APP, channel), leaseKey(node)],
    [lease, 'eu', APP, channel, uid, limits[0] ?? -1, limits[1] ?? -1, 3],
  );
}

function release(node: string, lease: string, channel: string, uid: string) {
  return RELEASE.run(
    redis,
    [channelsKey('eu', APP), uidsKey('eu', APP, channel), leaseKey(node)],
    [lease, 'eu', APP, channel, uid, 2, 2],
  );
}

/** A ClusterQuota of node `nodeId` in region eu that ignores refused leases. */
function quotaOn(nodeId: string): ClusterQuota {
  const metrics = createClusterMetrics(new Registry());
  return new ClusterQuota({ redis, nodeId, region: 'eu', metrics, end: () => undefined });
}

describe('admit and release', () => {
  it('enforces maxProxyUsersPerChannel, maxChannels and the per-uid cap across nodes', async () => {
    expect(await admit('n1', 'l1', 'c1', 'u1')).toEqual([1]);
    expect(await admit('n2', 'l2', 'c1', 'u2')).toEqual([1]);
    expect(await admit('n3', 'l3', 'c1', 'u3')).toEqual([0, 'max-proxy-users']);
    expect(await admit('n3', 'l4', 'c1', 'u1')).toEqual([1]); // a uid already in may add more
    expect(await admit('n3', 'l5', 'c2', 'u9')).toEqual([1]);
    expect(await admit('n3', 'l6', 'c3', 'u9')).toEqual([0, 'max-channels']);
    expect(await admit('n1', 'l7', 'c1', 'u1')).toEqual([1]);
    expect(await admit('n1', 'l8', 'c1', 'u1')).toEqual([0, 'max-allocations-per-uid']);
    expect(await redis.hgetall(uidsKey('eu', APP, 'c1'))).toEqual({ u1: '3', u2: '1' });
  });

  it('counts a lease once and releases it once', async () => {
    await admit('n1', 'l1', 'c1', 'u1');
    await admit('n1', 'l1', 'c1', 'u1');
    expect(await redis.hget(uidsKey('eu', APP, 'c1'), 'u1')).toBe('1');
    expect(await release('n1', 'l1', 'c1', 'u1')).toBe(1);
    expect(await release('n1', 'l1', 'c1', 'u1')).toBe(0);
    expect(await redis.exists(uidsKey('eu', APP, 'c1'), channelsKey('eu', APP))).toBe(0);
  });
});

describe('reap and resync', () => {
  it('releases the leases of a node whose heartbeat stopped, not of a live one', async () => {
    await HEARTBEAT.run(redis, [NODES_KEY, nodeKey('dead')], ['dead', '{}', 1000]);
    await HEARTBEAT.run(redis, [NODES_KEY, nodeKey('live')], ['live', '{}', 1000]);
    await admit('dead', 'l1', 'c1', 'u1');
    await admit('live', 'l2', 'c1', 'u2');
    await redis.zadd(NODES_KEY, Date.now() - 10_000, 'dead');
    const keys = (n: string) => [NODES_KEY, leaseKey(n), nodeKey(n)];
    expect(await REAP.run(redis, keys('live'), ['live', 5000])).toBe(-1);
    expect(await REAP.run(redis, keys('dead'), ['dead', 5000])).toBe(1);
    expect(await redis.hgetall(uidsKey('eu', APP, 'c1'))).toEqual({ u2: '1' });
    expect(await redis.zrange(NODES_KEY, 0, -1)).toEqual(['live']);
  });

  it('resync replaces what Redis holds for the node with its live leases', async () => {
    const quota = quotaOn('n1');
    await admit('n1', 'stale', 'c1', 'gone');
    const owner = { appId: APP, channel: 'c2', uid: 'u1' };
    expect(await quota.resync([{ leaseId: 'x', owner, username: 'u' }])).toBe(1);
    expect(await redis.hgetall(channelsKey('eu', APP))).toEqual({ c2: '1' });
    expect(await redis.hkeys(leaseKey('n1'))).toEqual(['x']);
  });
});

describe('mirror', () => {
  it('learns full channels from notices and refuses synchronously', async () => {
    const sub = new Redis(server.url);
    const quota = quotaOn('n3');
    const got = new Promise<void>((resolve) => {
      sub.on('message', (_c: string, text: string) => {
        quota.notice(JSON.parse(text) as QuotaNotice);
        resolve();
      });
    });
    await sub.subscribe(QUOTA_CHANNEL);
    const reservation = { maxChannels: 5, maxProxyUsersPerChannel: 2 } as Reservation;
    await admit('n1', 'l1', 'c1', 'u1');
    await admit('n2', 'l2', 'c1', 'u2');
    await got;
    expect(quota.refusal({ appId: APP, channel: 'c1', uid: 'u3' }, reservation)).toBe(
      'max-proxy-users',
    );
    expect(quota.refusal({ appId: APP, channel: 'c1', uid: 'u1' }, reservation)).toBeUndefined();
    sub.disconnect();
  });
});

describe('usage', () => {
  it('adds pushed deltas up and rolls them into the store once', async () => {
    const row = (bytes: number, peak: number): UsageRow => ({
      appId: APP,
      channel: 'c1',
      day: '2026-01-02',
      allocations: 1,
      relayMs: 1000,
      bytesIn: { udp: bytes, tcp: 0, tls: 0 },
      bytesOut: { udp: bytes * 2, tcp: 0, tls: 7 },
      peakProxyUsers: peak,
    });
    await pushUsage(redis, [row(100, 2)]);
    await pushUsage(redis, [row(50, 1)]);
    const written: UsageRow[] = [];
    const repo = { add: (rows: UsageRow[]) => Promise.resolve(void written.push(...rows)) };
    const rollup = new UsageRollup({ redis, repo: repo as unknown as UsageRepo });
    expect(await rollup.run()).toBe(1);
    expect(written).toEqual([
      {
        ...row(150, 2),
        allocations: 2,
        relayMs: 2000,
        bytesOut: { udp: 300, tcp: 0, tls: 14 },
      },
    ]);
    expect(await rollup.run()).toBe(0);
  });
});
