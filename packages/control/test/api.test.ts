/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- the tests probe the API's JSON answers */
/**
 * Every endpoint, auth rule and limit of the API, against SQLite and against a real PostgreSQL
 * server.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, FakeRelay, NODE, startHarness, storeFixture } from './harness.js';
import type { Harness, StoreFixture } from './harness.js';

describe.each(['sqlite', 'postgres'] as const)('control plane API on %s', (kind) => {
  let fixture: StoreFixture;
  let h: Harness;
  let relay: FakeRelay;
  let offsetMs = 0;
  let counter = 0;

  beforeAll(async () => {
    fixture = storeFixture(kind);
    relay = new FakeRelay();
    h = await startHarness({
      store: await fixture.fresh(),
      relay,
      clock: () => Date.now() + offsetMs,
    });
  });
  afterAll(async () => {
    await h.close();
    await fixture.cleanup();
  });

  /** A new app and an API key of it. */
  async function newApp(
    body: Record<string, unknown> = {},
  ): Promise<{ appId: string; key: string }> {
    counter += 1;
    const created = await h.call('POST', '/api/v1/apps', {
      token: ADMIN,
      body: { name: `app-${counter}`, ...body },
    });
    expect(created.status).toBe(201);
    const key = await h.call('POST', `/api/v1/apps/${created.json.appId}/keys`, {
      token: ADMIN,
      body: {},
    });
    expect(key.status).toBe(201);
    return { appId: created.json.appId, key: key.json.key };
  }

  function expectProblem(
    answer: { status: number; headers: Headers; json: any },
    status: number,
    code: string,
  ): void {
    expect(answer.status, JSON.stringify(answer.json)).toBe(status);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.json).toMatchObject({
      status,
      code,
      type: `https://cloudproxy.dev/problems/${code}`,
    });
    expect(typeof answer.json.title).toBe('string');
    expect(typeof answer.json.detail).toBe('string');
  }

  describe('authentication', () => {
    it('refuses app management without a token, with a wrong token and with an app key', async () => {
      expectProblem(await h.call('GET', '/api/v1/apps'), 401, 'unauthorized');
      expectProblem(
        await h.call('GET', '/api/v1/apps', { token: 'nope-nope-nope-nope' }),
        401,
        'unauthorized',
      );
      expectProblem(
        await h.call('GET', '/api/v1/apps', { token: `${ADMIN}x` }),
        401,
        'unauthorized',
      );
      const { key } = await newApp();
      expectProblem(await h.call('GET', '/api/v1/apps', { token: key }), 403, 'forbidden');
      expectProblem(
        await h.call('GET', '/api/v1/apps', { token: 'cpk_unknown' }),
        401,
        'unauthorized',
      );
    });

    it('keeps an app key to its own app', async () => {
      const a = await newApp();
      const b = await newApp();
      const answer = await h.call('POST', `/api/v1/apps/${b.appId}/credentials`, {
        token: a.key,
        body: { channel: 'c', uid: 'u' },
      });
      expectProblem(answer, 403, 'forbidden');
      expectProblem(
        await h.call('GET', `/api/v1/apps/${b.appId}/usage`, { token: a.key }),
        403,
        'forbidden',
      );
      expectProblem(
        await h.call('GET', `/api/v1/allocations?appId=${b.appId}`, { token: a.key }),
        403,
        'forbidden',
      );
    });

    it('serves the public routes without a token', async () => {
      expect((await h.call('GET', '/healthz')).json).toEqual({ status: 'ok' });
      expect((await h.call('GET', '/readyz')).json).toEqual({ status: 'ready', store: kind });
      expect((await h.call('GET', '/api/v1/allowlist')).status).toBe(200);
      expect((await h.call('GET', '/api/v1/openapi.json')).status).toBe(200);
    });
  });

  describe('apps', () => {
    it('creates, lists, reads, updates and disables an app', async () => {
      const created = await h.call('POST', '/api/v1/apps', {
        token: ADMIN,
        body: { name: 'Acme video' },
      });
      expect(created.status).toBe(201);
      const app = created.json;
      expect(app.appId).toMatch(/^[0-9a-f]{32}$/);
      expect(app).toMatchObject({
        name: 'Acme video',
        enabled: true,
        modes: ['auto', 'force-udp', 'force-tcp'],
        regions: [NODE.region],
      });
      expect(Date.parse(app.createdAt)).not.toBeNaN();
      const list = await h.call('GET', '/api/v1/apps', { token: ADMIN });
      expect(list.json.apps.map((a: { appId: string }) => a.appId)).toContain(app.appId);
      expect((await h.call('GET', `/api/v1/apps/${app.appId}`, { token: ADMIN })).json).toEqual(
        app,
      );
      const patched = await h.call('PATCH', `/api/v1/apps/${app.appId}`, {
        token: ADMIN,
        body: { name: 'Acme', modes: ['force-udp'], regions: ['eu-west', 'us-east'] },
      });
      expect(patched.json).toMatchObject({
        name: 'Acme',
        modes: ['force-udp'],
        regions: ['eu-west', 'us-east'],
      });
      const disabled = await h.call('DELETE', `/api/v1/apps/${app.appId}`, { token: ADMIN });
      expect(disabled.status).toBe(200);
      expect(disabled.json.enabled).toBe(false);
      expect(
        (await h.call('GET', `/api/v1/apps/${app.appId}`, { token: ADMIN })).json.enabled,
      ).toBe(false);
    });

    it('refuses a duplicate name (409), an unknown app (404) and invalid bodies naming the field (400)', async () => {
      await h.call('POST', '/api/v1/apps', { token: ADMIN, body: { name: 'twice' } });
      expectProblem(
        await h.call('POST', '/api/v1/apps', { token: ADMIN, body: { name: 'twice' } }),
        409,
        'conflict',
      );
      expectProblem(
        await h.call('GET', `/api/v1/apps/${'0'.repeat(32)}`, { token: ADMIN }),
        404,
        'not-found',
      );
      const missing = await h.call('POST', '/api/v1/apps', { token: ADMIN, body: {} });
      expectProblem(missing, 400, 'invalid-request');
      expect(missing.json.detail).toMatch(/^name: /);
      const badMode = await h.call('POST', '/api/v1/apps', {
        token: ADMIN,
        body: { name: 'x', modes: ['fast'] },
      });
      expect(badMode.json.detail).toMatch(/^modes\.0: /);
      const extra = await h.call('POST', '/api/v1/apps', {
        token: ADMIN,
        body: { name: 'x', colour: 'red' },
      });
      expectProblem(extra, 400, 'invalid-request');
      expect(extra.json.detail).toContain('colour');
      expectProblem(
        await h.call('POST', '/api/v1/apps', {
          token: ADMIN,
          raw: '{"name":',
          headers: { 'content-type': 'application/json' },
        }),
        400,
        'invalid-request',
      );
      expectProblem(
        await h.call('POST', '/api/v1/apps', {
          token: ADMIN,
          raw: 'name=x',
          headers: { 'content-type': 'text/plain' },
        }),
        415,
        'unsupported-media-type',
      );
    });

    it('refuses bodies over 64 KiB (413), unknown paths (404) and wrong methods (405)', async () => {
      const big = await h.call('POST', '/api/v1/apps', {
        token: ADMIN,
        body: { name: 'x'.repeat(70_000) },
      });
      expectProblem(big, 413, 'payload-too-large');
      expectProblem(await h.call('GET', '/api/v1/nothing', { token: ADMIN }), 404, 'not-found');
      expectProblem(
        await h.call('PUT', '/api/v1/apps', { token: ADMIN }),
        405,
        'method-not-allowed',
      );
    });

    it('leaves other paths to the caller', async () => {
      const answer = await h.call('GET', '/somewhere-else');
      expect(answer.status).toBe(404);
      expect(answer.text).toBe('not the control plane');
    });
  });

  describe('API keys', () => {
    it('shows a key once, lists keys without values, and deletes them', async () => {
      const { appId, key } = await newApp();
      expect(key).toMatch(/^cpk_[A-Za-z0-9_-]{43}$/);
      const second = await h.call('POST', `/api/v1/apps/${appId}/keys`, {
        token: ADMIN,
        body: { label: 'backend' },
      });
      expect(second.json).toMatchObject({ label: 'backend' });
      const list = await h.call('GET', `/api/v1/apps/${appId}/keys`, { token: ADMIN });
      expect(list.json.keys).toHaveLength(2);
      expect(JSON.stringify(list.json)).not.toContain(key);
      expect(list.json.keys[0]).toEqual({
        keyId: expect.any(String),
        label: '',
        createdAt: expect.any(String),
        lastUsedAt: null,
      });
      expect(
        (
          await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
            token: key,
            body: { channel: 'c', uid: 'u' },
          })
        ).status,
      ).toBe(200);
      const used = await h.call('GET', `/api/v1/apps/${appId}/keys`, { token: ADMIN });
      expect(used.json.keys[0].lastUsedAt).not.toBeNull();
      const del = await h.call('DELETE', `/api/v1/apps/${appId}/keys/${list.json.keys[0].keyId}`, {
        token: ADMIN,
      });
      expect(del.status).toBe(204);
      expectProblem(
        await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel: 'c', uid: 'u' },
        }),
        401,
        'unauthorized',
      );
      expectProblem(
        await h.call('DELETE', `/api/v1/apps/${appId}/keys/key_none`, { token: ADMIN }),
        404,
        'not-found',
      );
    });
  });

  describe('TURN secrets', () => {
    it('rotates without breaking credentials signed with an older secret, and retires old ones', async () => {
      const { appId, key } = await newApp();
      const first = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
        token: key,
        body: { channel: 'c', uid: 'u' },
      });
      const oldUser = first.json.iceServers[0];
      const rotated = await h.call('POST', `/api/v1/apps/${appId}/secrets`, { token: ADMIN });
      expect(rotated.status).toBe(201);
      const secrets = await h.call('GET', `/api/v1/apps/${appId}/secrets`, { token: ADMIN });
      expect(secrets.json.secrets).toHaveLength(2);
      expect(secrets.json.secrets[0].secretId).toBe(rotated.json.secretId);
      expect(JSON.stringify(secrets.json)).not.toMatch(/"secret"/);
      const active = relay.hooks.restSecrets?.(oldUser.username) ?? [];
      expect(active).toHaveLength(2);
      const sign = (secret: string, username: string): string =>
        createHmac('sha1', secret).update(username).digest('base64');
      expect(sign(active[1]!, oldUser.username)).toBe(oldUser.credential);
      const second = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
        token: key,
        body: { channel: 'c', uid: 'u' },
      });
      expect(sign(active[0]!, second.json.iceServers[0].username)).toBe(
        second.json.iceServers[0].credential,
      );
      const oldId = secrets.json.secrets[1].secretId;
      expect(
        (await h.call('DELETE', `/api/v1/apps/${appId}/secrets/${oldId}`, { token: ADMIN })).status,
      ).toBe(204);
      expect(relay.hooks.restSecrets?.(oldUser.username)).toHaveLength(1);
      expectProblem(
        await h.call('DELETE', `/api/v1/apps/${appId}/secrets/${rotated.json.secretId}`, {
          token: ADMIN,
        }),
        409,
        'conflict',
      );
      expectProblem(
        await h.call('DELETE', `/api/v1/apps/${appId}/secrets/${oldId}`, { token: ADMIN }),
        404,
        'not-found',
      );
    });
  });

  describe('reservations', () => {
    it('puts, lists and deletes reservations, validating every field', async () => {
      const { appId } = await newApp();
      const body = {
        maxChannels: 10,
        maxUsersPerChannel: 8,
        maxProxyUsersPerChannel: 4,
        videoQuality: '720p',
        mode: 'auto',
      };
      const put = await h.call('PUT', `/api/v1/apps/${appId}/reservations/eu-west`, {
        token: ADMIN,
        body,
      });
      expect(put.status).toBe(200);
      expect(put.json).toMatchObject({
        ...body,
        appId,
        region: 'eu-west',
        maxBpsPerAllocation: 625_000,
      });
      const replaced = await h.call('PUT', `/api/v1/apps/${appId}/reservations/eu-west`, {
        token: ADMIN,
        body: { ...body, mode: 3 },
      });
      expect(replaced.json.mode).toBe('force-udp');
      await h.call('PUT', `/api/v1/apps/${appId}/reservations/us-east`, { token: ADMIN, body });
      const list = await h.call('GET', `/api/v1/apps/${appId}/reservations`, { token: ADMIN });
      expect(list.json.reservations.map((r: { region: string }) => r.region)).toEqual([
        'eu-west',
        'us-east',
      ]);
      const bad = await h.call('PUT', `/api/v1/apps/${appId}/reservations/eu-west`, {
        token: ADMIN,
        body: { ...body, videoQuality: '4k' },
      });
      expectProblem(bad, 400, 'invalid-request');
      expect(bad.json.detail).toMatch(/^videoQuality: /);
      const zero = await h.call('PUT', `/api/v1/apps/${appId}/reservations/eu-west`, {
        token: ADMIN,
        body: { ...body, maxChannels: 0 },
      });
      expect(zero.json.detail).toMatch(/^maxChannels: /);
      expectProblem(
        await h.call('PUT', `/api/v1/apps/${appId}/reservations/EU_WEST`, { token: ADMIN, body }),
        400,
        'invalid-request',
      );
      expect(
        (await h.call('DELETE', `/api/v1/apps/${appId}/reservations/us-east`, { token: ADMIN }))
          .status,
      ).toBe(204);
      expectProblem(
        await h.call('DELETE', `/api/v1/apps/${appId}/reservations/us-east`, { token: ADMIN }),
        404,
        'not-found',
      );
    });
  });

  describe('credentials', () => {
    it('answers WebRTC iceServers per mode, with the TURN REST username and password', async () => {
      const { appId, key } = await newApp();
      const before = Math.floor(Date.now() / 1000);
      const auto = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
        token: key,
        body: { channel: 'room:1', uid: 'alice', ttl: 600 },
      });
      expect(auto.status).toBe(200);
      expect(auto.json).toMatchObject({ mode: 'auto', ttl: 600, iceTransportPolicy: 'all' });
      const server = auto.json.iceServers[0];
      expect(server.urls).toEqual([
        'turn:relay.example.com:3478?transport=udp',
        'turns:relay.example.com:5349?transport=tcp',
      ]);
      const [expiry, id, channel, uid, ...rest] = server.username.split(':');
      expect(rest).toEqual([]);
      expect([id, channel, uid]).toEqual([appId, 'room%3A1', 'alice']);
      expect(Number(expiry)).toBeGreaterThanOrEqual(before + 600);
      expect(Number(expiry)).toBeLessThanOrEqual(before + 602);
      expect(Date.parse(auto.json.expiresAt)).toBe(Number(expiry) * 1000);
      const secret = relay.hooks.restSecrets?.(server.username)?.[0] ?? '';
      expect(createHmac('sha1', secret).update(server.username).digest('base64')).toBe(
        server.credential,
      );
      const cases = [
        ['force-udp', ['turn:relay.example.com:3478?transport=udp'], 'relay'],
        ['force-tcp', ['turns:relay.example.com:5349?transport=tcp'], 'relay'],
        [3, ['turn:relay.example.com:3478?transport=udp'], 'relay'],
        [5, ['turns:relay.example.com:5349?transport=tcp'], 'relay'],
        [0, server.urls, 'all'],
        [1, ['turn:relay.example.com:3478?transport=udp'], 'relay'],
        ['2', ['turns:relay.example.com:5349?transport=tcp'], 'relay'],
      ] as const;
      for (const [mode, urls, policy] of cases) {
        const answer = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel: 'c', uid: 'u', mode },
        });
        expect(answer.json.iceServers[0].urls, String(mode)).toEqual(urls);
        expect(answer.json.iceTransportPolicy).toBe(policy);
      }
      const bad = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
        token: key,
        body: { channel: 'c', uid: 'u', mode: 4 },
      });
      expectProblem(bad, 400, 'invalid-request');
      expect(bad.json.detail).toMatch(/^mode: /);
    });

    it('defaults the ttl to 1 h and caps it at 24 h', async () => {
      const { appId, key } = await newApp();
      const call = (ttl?: number) =>
        h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel: 'c', uid: 'u', ...(ttl && { ttl }) },
        });
      expect((await call()).json.ttl).toBe(3600);
      expect((await call(10 * 86_400)).json.ttl).toBe(86_400);
      const zero = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
        token: key,
        body: { channel: 'c', uid: 'u', ttl: 0 },
      });
      expect(zero.json.detail).toMatch(/^ttl: /);
    });

    it('validates channel and uid, and accepts numeric uids', async () => {
      const { appId, key } = await newApp();
      const post = (body: unknown) =>
        h.call('POST', `/api/v1/apps/${appId}/credentials`, { token: key, body });
      expect((await post({ channel: '', uid: 'u' })).json.detail).toMatch(/^channel: /);
      expect((await post({ channel: 'x'.repeat(65), uid: 'u' })).json.detail).toMatch(/^channel: /);
      expect((await post({ channel: 'c', uid: 'a\nb' })).json.detail).toMatch(/^uid: /);
      expect((await post({ channel: 'c' })).json.detail).toMatch(/^uid: /);
      const numeric = await post({ channel: 'c', uid: 12345 });
      expect(numeric.json.iceServers[0].username.split(':')[3]).toBe('12345');
    });

    it('refuses a mode the app does not enable, a disabled app and a reservation of another mode', async () => {
      const { appId, key } = await newApp({ modes: ['force-udp'] });
      expectProblem(
        await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel: 'c', uid: 'u', mode: 'force-tcp' },
        }),
        403,
        'mode-not-enabled',
      );
      const onlyMode = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
        token: key,
        body: { channel: 'c', uid: 'u' },
      });
      expect(onlyMode.json.mode).toBe('force-udp');
      await h.call('PATCH', `/api/v1/apps/${appId}`, {
        token: ADMIN,
        body: { modes: ['force-tcp', 'auto'] },
      });
      expectProblem(
        await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel: 'c', uid: 'u', mode: 3 },
        }),
        403,
        'mode-not-enabled',
      );
      expect(
        (
          await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
            token: key,
            body: { channel: 'c', uid: 'u' },
          })
        ).json.mode,
      ).toBe('auto');
      await h.call('PATCH', `/api/v1/apps/${appId}`, {
        token: ADMIN,
        body: { modes: ['force-udp'] },
      });
      await h.call('PUT', `/api/v1/apps/${appId}/reservations/${NODE.region}`, {
        token: ADMIN,
        body: {
          maxChannels: 1,
          maxUsersPerChannel: 5,
          maxProxyUsersPerChannel: 5,
          videoQuality: 'audio',
          mode: 'force-udp',
        },
      });
      const defaulted = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
        token: key,
        body: { channel: 'c', uid: 'u' },
      });
      expect(defaulted.json.mode).toBe('force-udp');
      await h.call('PATCH', `/api/v1/apps/${appId}`, {
        token: ADMIN,
        body: { modes: ['auto', 'force-udp', 'force-tcp'] },
      });
      expectProblem(
        await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel: 'c', uid: 'u', mode: 'force-tcp' },
        }),
        403,
        'mode-not-enabled',
      );
      await h.call('DELETE', `/api/v1/apps/${appId}`, { token: ADMIN });
      expectProblem(
        await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel: 'c', uid: 'u' },
        }),
        403,
        'app-disabled',
      );
    });

    it('refuses credentials to more than maxUsersPerChannel uids (403 quota-exceeded)', async () => {
      const { appId, key } = await newApp();
      await h.call('PUT', `/api/v1/apps/${appId}/reservations/${NODE.region}`, {
        token: ADMIN,
        body: {
          maxChannels: 5,
          maxUsersPerChannel: 2,
          maxProxyUsersPerChannel: 2,
          videoQuality: '360p',
          mode: 'auto',
        },
      });
      const post = (channel: string, uid: string) =>
        h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel, uid, ttl: 60 },
        });
      expect((await post('room', 'a')).status).toBe(200);
      expect((await post('room', 'b')).status).toBe(200);
      expect((await post('room', 'a')).status).toBe(200);
      expectProblem(await post('room', 'c'), 403, 'quota-exceeded');
      expect((await post('other', 'c')).status).toBe(200);
      offsetMs += 61_000;
      try {
        expect((await post('room', 'c')).status).toBe(200);
      } finally {
        offsetMs -= 61_000;
      }
    });

    it('answers the draft-uberti TURN REST shape', async () => {
      const { appId, key } = await newApp();
      const answer = await h.call(
        'GET',
        `/api/v1/apps/${appId}/turn-credentials?uid=bob&channel=c&ttl=120`,
        { token: key },
      );
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        username: expect.stringMatching(new RegExp(`^\\d+:${appId}:c:bob$`)),
        password: expect.any(String),
        ttl: 120,
        uris: expect.any(Array),
      });
      expect(
        (await h.call('GET', `/api/v1/apps/${appId}/turn-credentials?uid=bob`, { token: key })).json
          .detail,
      ).toMatch(/^channel: /);
    });
  });

  describe('client tokens', () => {
    /** POST …/credentials for a channel and uid with a bearer token. */
    const credentials = (token: string, appId: string, channel: string, uid: string) =>
      h.call('POST', `/api/v1/apps/${appId}/credentials`, { token, body: { channel, uid } });

    it('lets a browser fetch credentials for its own channel and uid only', async () => {
      const { appId, key } = await newApp();
      const other = await newApp();
      const issued = await h.call('POST', `/api/v1/apps/${appId}/client-tokens`, {
        token: key,
        body: { channel: 'c', uid: 'u' },
      });
      expect(issued.status).toBe(201);
      const token = issued.json.token as string;
      expect(Date.parse(issued.json.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
      const ok = await credentials(token, appId, 'c', 'u');
      expect(ok.status).toBe(200);
      expect(ok.json.iceServers[0].username).toMatch(new RegExp(`^\\d+:${appId}:c:u$`));
      expectProblem(await credentials(token, appId, 'd', 'u'), 403, 'forbidden');
      expectProblem(await credentials(token, appId, 'c', 'v'), 403, 'forbidden');
      expectProblem(await credentials(token, other.appId, 'c', 'u'), 403, 'forbidden');
      expectProblem(
        await h.call('POST', `/api/v1/apps/${appId}/client-tokens`, {
          token,
          body: { channel: 'c', uid: 'u' },
        }),
        403,
        'forbidden',
      );
      expectProblem(
        await h.call('GET', `/api/v1/apps/${appId}/usage`, { token }),
        403,
        'forbidden',
      );
      const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
      expectProblem(await credentials(tampered, appId, 'c', 'u'), 401, 'unauthorized');
      const capped = await h.call('POST', `/api/v1/apps/${appId}/client-tokens`, {
        token: key,
        body: { channel: 'c', uid: 'u', ttl: 99_999 },
      });
      expect(Date.parse(capped.json.expiresAt) - Date.now()).toBeLessThanOrEqual(3_601_000);
      offsetMs += 601_000;
      try {
        expectProblem(await credentials(token, appId, 'c', 'u'), 401, 'unauthorized');
      } finally {
        offsetMs -= 601_000;
      }
    });
  });

  describe('revocations', () => {
    it('ends live allocations, refuses credentials and Allocates until lifted', async () => {
      const { appId, key } = await newApp();
      const creds = async (uid: string, channel = 'room') =>
        h.call('POST', `/api/v1/apps/${appId}/credentials`, { token: key, body: { channel, uid } });
      const alice = (await creds('alice')).json.iceServers[0].username;
      const bob = (await creds('bob')).json.iceServers[0].username;
      const carol = (await creds('carol', 'other')).json.iceServers[0].username;
      for (const u of [alice, alice, bob, carol]) expect(relay.allocate(u).allow).toBe(true);
      const revoked = await h.call('POST', `/api/v1/apps/${appId}/revocations`, {
        token: key,
        body: { channel: 'room', uid: 'alice', durationS: 300 },
      });
      expect(revoked.status).toBe(200);
      expect(revoked.json.endedAllocations).toBe(2);
      expect(Date.parse(revoked.json.until) - Date.now()).toBeGreaterThan(295_000);
      expectProblem(await creds('alice'), 403, 'revoked');
      expect(relay.allocate(alice)).toMatchObject({ allow: false, code: 403, reason: 'revoked' });
      expect(relay.allocate(bob).allow).toBe(true);
      const channel = await h.call('POST', `/api/v1/apps/${appId}/revocations`, {
        token: ADMIN,
        body: { channel: 'room' },
      });
      expect(channel.json.endedAllocations).toBe(2);
      expectProblem(await creds('bob'), 403, 'revoked');
      expect((await creds('carol', 'other')).status).toBe(200);
      const list = await h.call('GET', `/api/v1/apps/${appId}/revocations`, { token: key });
      expect(list.json.revocations).toEqual([
        { channel: 'room', uid: 'alice', until: expect.any(String), createdAt: expect.any(String) },
        { channel: 'room', uid: null, until: expect.any(String), createdAt: expect.any(String) },
      ]);
      expect(
        (await h.call('DELETE', `/api/v1/apps/${appId}/revocations?channel=room`, { token: key }))
          .status,
      ).toBe(204);
      expect((await creds('bob')).status).toBe(200);
      expectProblem(await creds('alice'), 403, 'revoked');
      expect(
        (
          await h.call('DELETE', `/api/v1/apps/${appId}/revocations?channel=room&uid=alice`, {
            token: key,
          })
        ).status,
      ).toBe(204);
      expect((await creds('alice')).status).toBe(200);
      expect(relay.allocate(alice).allow).toBe(true);
      expectProblem(
        await h.call('DELETE', `/api/v1/apps/${appId}/revocations?channel=room`, { token: key }),
        404,
        'not-found',
      );
      for (const a of relay.listAllocations()) relay.revokeAllocations((u) => u === a.username);
    });

    it('expires a revocation at its end', async () => {
      const { appId, key } = await newApp();
      await h.call('POST', `/api/v1/apps/${appId}/revocations`, {
        token: key,
        body: { channel: 'short', durationS: 5 },
      });
      const post = () =>
        h.call('POST', `/api/v1/apps/${appId}/credentials`, {
          token: key,
          body: { channel: 'short', uid: 'u' },
        });
      expectProblem(await post(), 403, 'revoked');
      offsetMs += 6000;
      try {
        expect((await post()).status).toBe(200);
      } finally {
        offsetMs -= 6000;
      }
    });
  });

  describe('allowlist', () => {
    it('lists relay addresses and ports as JSON, CSV and text, per region', async () => {
      const json = await h.call('GET', '/api/v1/allowlist');
      expect(json.json).toEqual({
        regions: [
          {
            region: 'eu-west',
            domains: ['relay.example.com'],
            relays: [
              {
                address: '203.0.113.7',
                ports: [
                  { protocol: 'udp', port: 3478 },
                  { protocol: 'tcp', port: 3478 },
                  { protocol: 'tls', port: 5349 },
                  { protocol: 'udp', portRange: '49152-65535' },
                ],
              },
            ],
          },
        ],
      });
      const csv = await h.call('GET', '/api/v1/allowlist?format=csv');
      expect(csv.headers.get('content-type')).toContain('text/csv');
      expect(csv.text).toBe(
        'region,address,protocol,ports\r\neu-west,203.0.113.7,udp,3478\r\neu-west,203.0.113.7,tcp,3478\r\n' +
          'eu-west,203.0.113.7,tls,5349\r\neu-west,203.0.113.7,udp,49152-65535\r\neu-west,relay.example.com,domain,\r\n',
      );
      const text = await h.call('GET', '/api/v1/allowlist?format=text&region=eu-west');
      expect(text.text.split('\n')).toEqual([
        '203.0.113.7 udp 3478',
        '203.0.113.7 tcp 3478',
        '203.0.113.7 tls 5349',
        '203.0.113.7 udp 49152-65535',
        'relay.example.com domain -',
        '',
      ]);
      expect((await h.call('GET', '/api/v1/allowlist?region=us-east')).json).toEqual({
        regions: [],
      });
      expect((await h.call('GET', '/api/v1/allowlist?format=xml')).json.detail).toMatch(
        /^format: /,
      );
    });
  });

  describe('usage and live state', () => {
    it('reports allocations, bytes per transport, relay minutes and peak users per channel and day', async () => {
      const { appId, key } = await newApp();
      const user = async (uid: string, channel: string) =>
        (
          await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
            token: key,
            body: { channel, uid },
          })
        ).json.iceServers[0].username as string;
      const a = relay.allocate(await user('a', 'c1'), 'udp').key!;
      const b = relay.allocate(await user('b', 'c1'), 'tls').key!;
      const c = relay.allocate(await user('c', 'c2'), 'tcp').key!;
      relay.relay(a, 1000, 2000);
      relay.relay(b, 300, 400);
      await h.cp.flushUsage();
      relay.relay(a, 10, 20);
      relay.relay(c, 5, 6);
      const live = await h.call('GET', `/api/v1/allocations?appId=${appId}`, { token: ADMIN });
      expect(live.json.allocations).toHaveLength(3);
      expect(live.json.allocations[0]).toMatchObject({
        appId,
        channel: 'c1',
        uid: 'a',
        transport: 'udp',
        bytesIn: 1010,
        bytesOut: 2020,
      });
      const own = await h.call('GET', '/api/v1/allocations?channel=c2', { token: key });
      expect(own.json.allocations.map((x: { uid: string }) => x.uid)).toEqual(['c']);
      relay.end(a);
      relay.end(b);
      relay.end(c);
      const usage = await h.call('GET', `/api/v1/apps/${appId}/usage`, { token: key });
      expect(usage.status).toBe(200);
      const today = new Date().toISOString().slice(0, 10);
      expect(usage.json.to).toBe(today);
      const rows = usage.json.usage;
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({
        appId,
        channel: 'c1',
        day: today,
        allocations: 2,
        bytesIn: { udp: 1010, tcp: 0, tls: 300 },
        bytesOut: { udp: 2020, tcp: 0, tls: 400 },
        peakProxyUsers: 2,
      });
      expect(rows[1]).toMatchObject({
        channel: 'c2',
        allocations: 1,
        bytesIn: { udp: 0, tcp: 5, tls: 0 },
        bytesOut: { udp: 0, tcp: 6, tls: 0 },
        peakProxyUsers: 1,
      });
      expect(rows[0].relayMinutes).toBeGreaterThanOrEqual(0);
      const csv = await h.call('GET', `/api/v1/apps/${appId}/usage?format=csv&channel=c2`, {
        token: ADMIN,
      });
      const lines = csv.text.trim().split('\r\n');
      expect(lines[0]).toBe(
        'app_id,channel,day,allocations,relay_minutes,bytes_in_udp,bytes_out_udp,bytes_in_tcp,bytes_out_tcp,bytes_in_tls,bytes_out_tls,peak_proxy_users',
      );
      expect(lines[1]).toMatch(new RegExp(`^${appId},c2,${today},1,[\\d.]+,0,0,5,6,0,0,1$`));
      const none = await h.call(
        'GET',
        `/api/v1/apps/${appId}/usage?from=2020-01-01&to=2020-01-31`,
        { token: ADMIN },
      );
      expect(none.json.usage).toEqual([]);
      expect(
        (await h.call('GET', `/api/v1/apps/${appId}/usage?from=2020-13`, { token: ADMIN })).json
          .detail,
      ).toMatch(/^from: /);
      expectProblem(
        await h.call('GET', `/api/v1/apps/${appId}/usage?from=2020-02-01&to=2020-01-01`, {
          token: ADMIN,
        }),
        400,
        'invalid-request',
      );
    });

    it('answers the bandwidth chart in 10-second samples', async () => {
      const all = await h.call('GET', '/api/v1/stats/bandwidth', { token: ADMIN });
      expect(all.json.sampleS).toBe(10);
      expect(all.json.samples).toHaveLength(360);
      const five = await h.call('GET', '/api/v1/stats/bandwidth?minutes=5', { token: ADMIN });
      expect(five.json.samples).toHaveLength(30);
      const total = all.json.samples.reduce(
        (n: number, s: { bytesIn: number }) => n + s.bytesIn,
        0,
      );
      expect(total).toBeGreaterThanOrEqual(1315);
      expect(
        (await h.call('GET', '/api/v1/stats/bandwidth?minutes=61', { token: ADMIN })).json.detail,
      ).toMatch(/^minutes: /);
    });
  });

  describe('cross-origin use', () => {
    it('answers preflights and allows any origin (bearer tokens only, no cookies)', async () => {
      const answer = await h.call('OPTIONS', '/api/v1/apps/x/credentials', {
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      expect(answer.status).toBe(204);
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
      expect(answer.headers.get('access-control-allow-headers')).toContain('authorization');
    });
  });
});
