/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/restrict-plus-operands -- the tests probe the API's JSON answers */
/**
 * The relay hooks with a fake relay: per-app secrets, quotas (486) and their release, bandwidth
 * caps from the video quality, refusals by reason as metrics, exact counts under any interleaving,
 * and usage metering that equals what the relay counted.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, FakeRelay, NODE, startHarness, storeFixture } from './harness.js';
import type { Harness, StoreFixture } from './harness.js';

let fixture: StoreFixture;
let h: Harness;
let relay: FakeRelay;
let registry: Registry;
let nowMs = Date.parse('2026-03-01T12:00:00Z');

beforeEach(async () => {
  fixture = storeFixture('sqlite');
  relay = new FakeRelay();
  relay.now = () => nowMs;
  registry = new Registry();
  h = await startHarness({ store: await fixture.fresh(), relay, registry, clock: () => nowMs });
});
afterEach(async () => {
  await h.close();
  await fixture.cleanup();
});

async function setup(reservation?: Record<string, unknown>, app: Record<string, unknown> = {}) {
  const created = await h.call('POST', '/api/v1/apps', {
    token: ADMIN,
    body: { name: 'a', ...app },
  });
  const appId = created.json.appId as string;
  const key = (await h.call('POST', `/api/v1/apps/${appId}/keys`, { token: ADMIN, body: {} })).json
    .key as string;
  if (reservation)
    await h.call('PUT', `/api/v1/apps/${appId}/reservations/${NODE.region}`, {
      token: ADMIN,
      body: {
        maxChannels: 100,
        maxUsersPerChannel: 100,
        maxProxyUsersPerChannel: 100,
        videoQuality: '720p',
        mode: 'auto',
        ...reservation,
      },
    });
  const user = async (channel: string, uid: string): Promise<string> => {
    const answer = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
      token: key,
      body: { channel, uid },
    });
    expect(answer.status, answer.text).toBe(200);
    return answer.json.iceServers[0].username as string;
  };
  return { appId, key, user };
}

async function metric(name: string, reason: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return found?.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

describe('restSecrets', () => {
  it("answers an app's secrets, nothing for unknown or disabled apps, and undefined otherwise", async () => {
    const { appId, user } = await setup();
    const username = await user('c', 'u');
    expect(relay.hooks.restSecrets?.(username)).toHaveLength(1);
    expect(relay.hooks.restSecrets?.(username.replace(appId, 'f'.repeat(32)))).toEqual([]);
    expect(relay.hooks.restSecrets?.('1700000000:demo')).toBeUndefined();
    expect(relay.hooks.restSecrets?.('alice')).toBeUndefined();
    await h.call('DELETE', `/api/v1/apps/${appId}`, { token: ADMIN });
    expect(relay.hooks.restSecrets?.(username)).toEqual([]);
  });
});

describe('admission', () => {
  it('refuses with 486 beyond maxProxyUsersPerChannel while other channels succeed, and frees on release', async () => {
    const { user } = await setup({ maxProxyUsersPerChannel: 2 });
    const a = relay.allocate(await user('room', 'a'));
    expect(a).toMatchObject({ allow: true, maxBps: 625_000 });
    expect(relay.allocate(await user('room', 'a')).allow).toBe(true);
    expect(relay.allocate(await user('room', 'b')).allow).toBe(true);
    expect(relay.allocate(await user('room', 'c'))).toMatchObject({
      allow: false,
      code: 486,
      reason: 'max-proxy-users',
    });
    expect(relay.allocate(await user('other', 'c')).allow).toBe(true);
    expect(relay.allocate(await user('room', 'b')).allow).toBe(true);
    expect(await metric('cloudproxy_control_quota_refusals_total', 'max-proxy-users')).toBe(1);
    relay.end(a.key!);
    expect(relay.allocate(await user('room', 'c'))).toMatchObject({ allow: false, code: 486 });
    for (const alloc of relay.listAllocations())
      if (alloc.username.endsWith(':room:a')) relay.revokeAllocations((u) => u === alloc.username);
    expect(relay.allocate(await user('room', 'c')).allow).toBe(true);
  });

  it('refuses with 486 beyond maxChannels across the app', async () => {
    const { user } = await setup({ maxChannels: 2 });
    const one = relay.allocate(await user('c1', 'u'));
    expect(relay.allocate(await user('c2', 'u')).allow).toBe(true);
    expect(relay.allocate(await user('c3', 'u'))).toMatchObject({
      allow: false,
      code: 486,
      reason: 'max-channels',
    });
    expect(relay.allocate(await user('c1', 'v')).allow).toBe(true);
    relay.end(one.key!);
    expect(relay.allocate(await user('c3', 'u'))).toMatchObject({ allow: false, code: 486 });
    relay.revokeAllocations((u) => u.endsWith(':c1:v'));
    expect(relay.allocate(await user('c3', 'u')).allow).toBe(true);
    expect(await metric('cloudproxy_control_quota_refusals_total', 'max-channels')).toBe(2);
  });

  it('allows at most 16 allocations per uid and channel, with or without a reservation', async () => {
    const { user } = await setup();
    const username = await user('c', 'u');
    for (let i = 0; i < 16; i++)
      expect(relay.allocate(username)).toMatchObject({ allow: true, maxBps: undefined });
    expect(relay.allocate(username)).toMatchObject({
      allow: false,
      code: 486,
      reason: 'max-allocations-per-uid',
    });
    expect(relay.allocate(await user('c', 'v')).allow).toBe(true);
  });

  it('caps bandwidth at twice the video quality estimate', async () => {
    const cases = [
      ['audio', 16_000],
      ['360p', 200_000],
      ['480p', 300_000],
      ['720p', 625_000],
      ['1080p', 1_125_000],
    ] as const;
    const { appId, user } = await setup({});
    for (const [videoQuality, maxBps] of cases) {
      await h.call('PUT', `/api/v1/apps/${appId}/reservations/${NODE.region}`, {
        token: ADMIN,
        body: {
          maxChannels: 100,
          maxUsersPerChannel: 100,
          maxProxyUsersPerChannel: 100,
          videoQuality,
          mode: 'auto',
        },
      });
      expect(relay.allocate(await user(videoQuality, 'u')).maxBps).toBe(maxBps);
    }
  });

  it('refuses disabled apps, other regions and transports of modes the app does not enable (403)', async () => {
    const { appId, user } = await setup(undefined, { modes: ['force-udp'] });
    const username = await user('c', 'u');
    expect(relay.allocate(username, 'tls')).toMatchObject({
      allow: false,
      code: 403,
      reason: 'mode-not-enabled',
    });
    expect(relay.allocate(username, 'udp').allow).toBe(true);
    await h.call('PATCH', `/api/v1/apps/${appId}`, {
      token: ADMIN,
      body: { regions: ['us-east'] },
    });
    expect(relay.allocate(username)).toMatchObject({
      allow: false,
      code: 403,
      reason: 'region-not-enabled',
    });
    await h.call('PATCH', `/api/v1/apps/${appId}`, {
      token: ADMIN,
      body: { regions: [], enabled: false },
    });
    expect(relay.allocate(username)).toMatchObject({
      allow: false,
      code: 403,
      reason: 'app-disabled',
    });
    expect(await metric('cloudproxy_control_admission_refusals_total', 'app-disabled')).toBe(1);
  });

  it('admits usernames that are not in app form without counting them', () => {
    expect(relay.allocate('1700000000:demo')).toEqual({
      allow: true,
      maxBps: undefined,
      key: expect.any(String),
    });
  });

  it('keeps counts exact under any interleaving of admissions and releases', async () => {
    const { user } = await setup({ maxChannels: 3, maxProxyUsersPerChannel: 2 });
    const names: string[] = [];
    for (const channel of ['c1', 'c2', 'c3', 'c4'])
      for (const uid of ['a', 'b', 'c']) names.push(await user(channel, uid));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(names.length - 1)), { maxLength: 200 }),
        (ops) => {
          const live: { key: string; channel: string; uid: string }[] = [];
          for (const [admit, index] of ops) {
            if (admit || live.length === 0) {
              const username = names[index]!;
              const [, , channel, uid] = username.split(':') as [string, string, string, string];
              const channels = new Set(live.map((l) => l.channel));
              const uids = new Set(live.filter((l) => l.channel === channel).map((l) => l.uid));
              const held = live.filter((l) => l.channel === channel && l.uid === uid).length;
              const expected =
                held >= 16
                  ? false
                  : !channels.has(channel) && channels.size >= 3
                    ? false
                    : held === 0 && uids.size >= 2
                      ? false
                      : true;
              const got = relay.allocate(username);
              if (got.allow !== expected) return false;
              if (got.key) live.push({ key: got.key, channel, uid });
            } else {
              const [gone] = live.splice(index % live.length, 1);
              relay.end(gone!.key);
            }
          }
          for (const l of live) relay.end(l.key);
          return relay.size === 0;
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('disabling an app', () => {
  it('ends its live allocations at once and refuses new ones', async () => {
    const a = await setup();
    const other = await h.call('POST', '/api/v1/apps', { token: ADMIN, body: { name: 'b' } });
    const otherKey = (
      await h.call('POST', `/api/v1/apps/${other.json.appId as string}/keys`, { token: ADMIN })
    ).json.key as string;
    const otherUser = (
      await h.call('POST', `/api/v1/apps/${other.json.appId as string}/credentials`, {
        token: otherKey,
        body: { channel: 'x', uid: 'y' },
      })
    ).json.iceServers[0].username as string;
    expect(relay.allocate(await a.user('room', 'u1')).allow).toBe(true);
    expect(relay.allocate(await a.user('room', 'u2')).allow).toBe(true);
    expect(relay.allocate(otherUser).allow).toBe(true);
    const username = await a.user('room', 'u3');
    const disabled = await h.call('DELETE', `/api/v1/apps/${a.appId}`, { token: ADMIN });
    expect(disabled.status).toBe(200);
    expect(relay.size).toBe(1);
    expect(relay.allocate(username)).toMatchObject({ allow: false, code: 403 });
  });
});

describe('usage metering', () => {
  it('adds exactly what the relay counted: deltas at each poll plus the rest at release', async () => {
    const { appId, user } = await setup();
    const totals = { in: 0, out: 0 };
    const keys = [
      relay.allocate(await user('c', 'a')).key!,
      relay.allocate(await user('c', 'b'), 'tls').key!,
    ];
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      for (const key of keys) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const fromClient = seed % 5000;
        const toClient = (seed >> 8) % 7000;
        relay.relay(key, fromClient, toClient);
        totals.in += fromClient;
        totals.out += toClient;
      }
      if (round % 3 === 0) await h.cp.flushUsage();
      nowMs += 1000;
    }
    for (const key of keys) relay.end(key);
    const [row] = (await h.call('GET', `/api/v1/apps/${appId}/usage`, { token: ADMIN })).json.usage;
    expect(row.bytesIn.udp + row.bytesIn.tls).toBe(totals.in);
    expect(row.bytesOut.udp + row.bytesOut.tls).toBe(totals.out);
    expect(row.allocations).toBe(2);
    expect(row.peakProxyUsers).toBe(2);
    expect(row.relayMinutes).toBeCloseTo((2 * 20_000) / 60_000, 3);
  });

  it('splits relay time and bytes across UTC days', async () => {
    nowMs = Date.parse('2026-03-01T23:59:30Z');
    const { appId, user } = await setup();
    const key = relay.allocate(await user('c', 'a')).key!;
    relay.relay(key, 100, 200);
    await h.cp.flushUsage();
    nowMs += 60_000;
    relay.relay(key, 1, 2);
    relay.end(key);
    const rows = (
      await h.call('GET', `/api/v1/apps/${appId}/usage?from=2026-03-01&to=2026-03-02`, {
        token: ADMIN,
      })
    ).json.usage;
    expect(rows.map((r: { day: string }) => r.day)).toEqual(['2026-03-01', '2026-03-02']);
    expect(rows[0]).toMatchObject({
      allocations: 1,
      bytesIn: { udp: 100 },
      bytesOut: { udp: 200 },
      relayMinutes: 0,
    });
    expect(rows[1]).toMatchObject({
      allocations: 0,
      bytesIn: { udp: 1 },
      bytesOut: { udp: 2 },
      relayMinutes: 1,
    });
    nowMs = Date.parse('2026-03-01T12:00:00Z');
  });

  it('feeds the bandwidth chart per app and in total', async () => {
    const { appId, user } = await setup();
    const key = relay.allocate(await user('c', 'a')).key!;
    relay.relay(key, 1234, 4321);
    await h.cp.flushUsage();
    const answer = await h.call('GET', `/api/v1/stats/bandwidth?appId=${appId}&minutes=1`, {
      token: ADMIN,
    });
    const last = answer.json.samples.at(-1);
    expect(last).toEqual({
      t: new Date(Math.floor(nowMs / 10_000) * 10_000).toISOString(),
      bytesIn: 1234,
      bytesOut: 4321,
    });
    relay.end(key);
  });
});
