/**
 * `ControlPlane.apps.issueClientToken`: the service call `cloudproxy start` uses to hand the demo
 * page a client token without an API key over HTTP. The token works as the bearer of
 * `POST …/credentials` for its channel and uid only, exactly like one from `…/client-tokens`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, storeFixture } from './harness.js';
import type { Harness } from './harness.js';

const fixture = storeFixture('sqlite');
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ store: await fixture.fresh() });
});

afterAll(async () => {
  await h.close();
  await fixture.cleanup();
});

describe('apps.issueClientToken', () => {
  it('issues a scoped, expiring token that fetches credentials for its channel and uid', async () => {
    const app = await h.cp.apps.createApp({ name: 'token-service' });
    const issued = await h.cp.apps.issueClientToken(app.appId, {
      channel: 'room-1',
      uid: 'alice',
      ttl: 120,
    });
    expect(issued.token).toMatch(/^cpt\./);
    const lifetimeMs = Date.parse(issued.expiresAt) - Date.now();
    expect(lifetimeMs).toBeGreaterThan(100_000);
    expect(lifetimeMs).toBeLessThanOrEqual(120_000);
    const ok = await h.call('POST', `/api/v1/apps/${app.appId}/credentials`, {
      token: issued.token,
      body: { channel: 'room-1', uid: 'alice', mode: 'force-udp' },
    });
    expect(ok.status).toBe(200);
    expect((ok.json as { mode: string }).mode).toBe('force-udp');
    const otherUid = await h.call('POST', `/api/v1/apps/${app.appId}/credentials`, {
      token: issued.token,
      body: { channel: 'room-1', uid: 'bob' },
    });
    expect(otherUid.status).toBe(403);
  });

  it('caps the lifetime at 3600 s and defaults it to 600 s', async () => {
    const app = await h.cp.apps.createApp({ name: 'token-ttl' });
    const capped = await h.cp.apps.issueClientToken(app.appId, {
      channel: 'c',
      uid: 'u',
      ttl: 86_400,
    });
    expect(Date.parse(capped.expiresAt) - Date.now()).toBeLessThanOrEqual(3_600_000);
    const byDefault = await h.cp.apps.issueClientToken(app.appId, { channel: 'c', uid: 'u' });
    expect(Date.parse(byDefault.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
    expect(Date.parse(byDefault.expiresAt) - Date.now()).toBeGreaterThan(590_000);
  });

  it('rejects an unknown app with not-found', async () => {
    await expect(
      h.cp.apps.issueClientToken('0'.repeat(32), { channel: 'c', uid: 'u' }),
    ).rejects.toMatchObject({ code: 'not-found' });
  });
});
