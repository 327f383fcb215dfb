/**
 * Fault: the PostgreSQL store is down for 30 s (`pg_ctl stop -m fast`, then started again on
 * the same port and data) under a running `cloudproxy start --database-url …`.
 *
 * Kept while the store is down: the process (an idle pool connection closed by the server must
 * not end it); relaying on existing allocations (ChannelData echoes, Refresh); new allocations
 * with credentials issued before; credentials issued with the admin token (apps, secrets and
 * quotas are held in memory). Refused, with 503 `unavailable` and `Retry-After`: API writes
 * (create an app), requests authenticated with an app key (the key lookup reads the store),
 * usage reads; `/readyz` answers 503. Nothing lost: usage relayed during the outage is written
 * once the store is back (the flush retries), so the stored bytes equal the relay's counters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type StartedSystem } from '../helpers/cloudproxy-start.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import {
  createTestApp,
  issueUdpCredentials,
  openRelayedCall,
  sleep,
  waitFor,
  type RelayedCall,
  type TestApp,
} from './fault-helpers.js';

const OUTAGE_MS = 30_000;

let pg: PostgresServer | undefined;
let system: StartedSystem | undefined;
const calls: RelayedCall[] = [];

beforeAll(async () => {
  pg = await startPostgres('cloudproxy_faults');
  system = await startSystem({ extraArgs: ['--database-url', pg.url] });
});

afterAll(async () => {
  for (const call of calls) await call.close();
  await system?.cleanup();
  await pg?.stop();
});

interface UsageRow {
  channel: string;
  allocations: number;
  bytesIn: { udp: number };
  bytesOut: { udp: number };
}

async function usageOf(app: TestApp): Promise<{ status: number; rows: UsageRow[]; text: string }> {
  const res = await system!.api('GET', `/api/v1/apps/${app.appId}/usage`, { token: app.key });
  const rows = (res.json as { usage?: UsageRow[] } | undefined)?.usage ?? [];
  return { status: res.status, rows, text: res.text };
}

async function liveBytes(appId: string): Promise<{ bytesIn: number; bytesOut: number }> {
  const res = await system!.api('GET', `/api/v1/allocations?appId=${appId}`, {
    token: system!.adminToken,
  });
  const list = (res.json as { allocations: { bytesIn: number; bytesOut: number }[] }).allocations;
  return {
    bytesIn: list.reduce((n, a) => n + a.bytesIn, 0),
    bytesOut: list.reduce((n, a) => n + a.bytesOut, 0),
  };
}

describe('store (PostgreSQL) unavailable for 30 s', () => {
  it('keeps relaying and issuing from memory, refuses store work with 503, loses no usage', async () => {
    const s = system!;
    const app = await createTestApp(s, 'outage');
    const admin = s.adminToken;
    const credentials = await issueUdpCredentials(s, app.appId, app.key, {
      channel: 'room',
      uid: 'alice',
    });
    const later = await issueUdpCredentials(s, app.appId, admin, { channel: 'room', uid: 'bob' });
    const call = await openRelayedCall(credentials);
    calls.push(call);
    expect(await call.echo(20)).toEqual({ sent: 20, returned: 20 });
    expect((await usageOf(app)).status).toBe(200);

    await pg!.pause();
    const downAt = Date.now();
    try {
      // Readiness reflects the outage.
      expect(
        await waitFor(async () => (await s.api('GET', '/readyz')).status === 503, 10_000),
      ).toBe(true);
      const ready = await s.api('GET', '/readyz');
      expect(ready.json).toMatchObject({ code: 'unavailable' });
      // API writes: 503 unavailable with Retry-After, naming the store.
      const write = await s.api('POST', '/api/v1/apps', { token: admin, body: { name: 'x' } });
      expect(write.status, write.text).toBe(503);
      expect(write.json).toMatchObject({ code: 'unavailable' });
      expect((write.json as { detail: string }).detail).toMatch(/^the store is unavailable: /);
      expect(write.headers['retry-after']).toBe('5');
      // App-key requests need the store (key lookup): 503 as well, never 500 or 401.
      const byKey = await s.api('POST', `/api/v1/apps/${app.appId}/credentials`, {
        token: app.key,
        body: { channel: 'room', uid: 'carol' },
      });
      expect(byKey.status, byKey.text).toBe(503);
      expect((await usageOf(app)).status).toBe(503);
      // Kept: credentials with the admin token come from memory.
      const byAdmin = await s.api('POST', `/api/v1/apps/${app.appId}/credentials`, {
        token: admin,
        body: { channel: 'room', uid: 'dave' },
      });
      expect(byAdmin.status, byAdmin.text).toBe(200);
      // Kept: the existing allocation relays and refreshes; a new one can be made.
      let rounds = 0;
      while (Date.now() - downAt < OUTAGE_MS) {
        expect(await call.echo(10)).toEqual({ sent: 10, returned: 10 });
        rounds++;
        await sleep(1000);
      }
      expect(rounds).toBeGreaterThan(5);
      expect(await call.client.refresh()).toBe(600);
      const second = await openRelayedCall(later);
      calls.push(second);
      expect(await second.echo(10)).toEqual({ sent: 10, returned: 10 });
    } finally {
      await pg!.resume();
    }

    // Recovery: readiness, writes and usage come back without a restart.
    expect(await waitFor(async () => (await s.api('GET', '/readyz')).status === 200, 20_000)).toBe(
      true,
    );
    const write = await s.api('POST', '/api/v1/apps', { token: admin, body: { name: 'after' } });
    expect(write.status, write.text).toBe(201);
    const usage = await usageOf(app);
    expect(usage.status, usage.text).toBe(200);
    // Nothing lost: the stored usage equals what the relay counted on the live allocations
    // (the usage read flushes first; no traffic runs in between).
    const live = await liveBytes(app.appId);
    const stored = usage.rows.filter((r) => r.channel === 'room');
    const storedIn = stored.reduce((n, r) => n + r.bytesIn.udp, 0);
    const storedOut = stored.reduce((n, r) => n + r.bytesOut.udp, 0);
    expect(live.bytesIn).toBeGreaterThan(100 * 200);
    expect(storedIn).toBe(live.bytesIn);
    expect(storedOut).toBe(live.bytesOut);
    expect(stored.reduce((n, r) => n + r.allocations, 0)).toBe(2);
    expect(s.output()).toMatch(/store-unavailable|usage\.flush-failed/);
  });
});
