/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- the tests probe the API's JSON answers */
/**
 * Storage: data survives a restart on SQLite and PostgreSQL, migrations are idempotent, the
 * generated admin token is stored only as a hash; plus the OpenAPI document, rate limits and
 * option validation.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { adminTokenSha256, createControlPlane } from '../src/index.js';
import type { StoreOptions } from '../src/index.js';
import { ADMIN, FakeRelay, NODE, startHarness, storeFixture } from './harness.js';

const fixtures = { sqlite: storeFixture('sqlite'), postgres: storeFixture('postgres') };
afterAll(async () => {
  await fixtures.sqlite.cleanup();
  await fixtures.postgres.cleanup();
});

describe.each(['sqlite', 'postgres'] as const)('%s store', (kind) => {
  it('keeps apps, keys, secrets, reservations, revocations and usage across a restart', async () => {
    const store: StoreOptions = await fixtures[kind].fresh();
    const relay = new FakeRelay();
    const first = await startHarness({ store, relay });
    const app = (
      await first.call('POST', '/api/v1/apps', { token: ADMIN, body: { name: 'persist' } })
    ).json;
    const key = (
      await first.call('POST', `/api/v1/apps/${app.appId}/keys`, { token: ADMIN, body: {} })
    ).json.key;
    await first.call('POST', `/api/v1/apps/${app.appId}/secrets`, { token: ADMIN });
    const body = {
      maxChannels: 3,
      maxUsersPerChannel: 4,
      maxProxyUsersPerChannel: 2,
      videoQuality: '480p',
      mode: 'auto',
    };
    await first.call('PUT', `/api/v1/apps/${app.appId}/reservations/eu-west`, {
      token: ADMIN,
      body,
    });
    await first.call('POST', `/api/v1/apps/${app.appId}/revocations`, {
      token: key,
      body: { channel: 'banned' },
    });
    const creds = (
      await first.call('POST', `/api/v1/apps/${app.appId}/credentials`, {
        token: key,
        body: { channel: 'c', uid: 'u' },
      })
    ).json;
    const allocation = relay.allocate(creds.iceServers[0].username).key!;
    relay.relay(allocation, 1500, 2500);
    // Closing flushes what the relay counted so far.
    await first.close();

    let token: string;
    const second = await startHarness({ store });
    try {
      expect(
        (await second.call('GET', `/api/v1/apps/${app.appId}`, { token: ADMIN })).json,
      ).toEqual(app);
      expect(
        (await second.call('GET', `/api/v1/apps/${app.appId}/secrets`, { token: ADMIN })).json
          .secrets,
      ).toHaveLength(2);
      expect(
        (await second.call('GET', `/api/v1/apps/${app.appId}/reservations`, { token: ADMIN })).json
          .reservations[0],
      ).toMatchObject(body);
      const again = await second.call('POST', `/api/v1/apps/${app.appId}/credentials`, {
        token: key,
        body: { channel: 'c', uid: 'u' },
      });
      expect(again.status).toBe(200);
      expect(again.json.iceServers[0].urls).toEqual(creds.iceServers[0].urls);
      expect(
        (
          await second.call('POST', `/api/v1/apps/${app.appId}/credentials`, {
            token: key,
            body: { channel: 'banned', uid: 'u' },
          })
        ).json.code,
      ).toBe('revoked');
      const usage = (await second.call('GET', `/api/v1/apps/${app.appId}/usage`, { token: ADMIN }))
        .json.usage;
      expect(usage).toEqual([
        expect.objectContaining({
          channel: 'c',
          allocations: 1,
          bytesIn: { udp: 1500, tcp: 0, tls: 0 },
          bytesOut: { udp: 2500, tcp: 0, tls: 0 },
        }),
      ]);
      token = (
        await second.call('POST', `/api/v1/apps/${app.appId}/client-tokens`, {
          token: key,
          body: { channel: 'c', uid: 'u' },
        })
      ).json.token;
    } finally {
      await second.close();
    }
    const third = await startHarness({ store });
    try {
      // The client-token key is generated once and kept: tokens survive a restart.
      expect(
        (
          await third.call('POST', `/api/v1/apps/${app.appId}/credentials`, {
            token,
            body: { channel: 'c', uid: 'u' },
          })
        ).status,
      ).toBe(200);
    } finally {
      await third.close();
    }
  });

  it('generates an admin token once, keeps only its hash, and accepts it after a restart', async () => {
    const store = await fixtures[kind].fresh();
    const first = await createControlPlane({ store, node: NODE });
    const token = first.generatedAdminToken;
    expect(token).toMatch(/^cpa_/);
    await first.close();
    const second = await startHarness({ store, adminToken: undefined });
    try {
      expect(second.cp.generatedAdminToken).toBeUndefined();
      expect((await second.call('GET', '/api/v1/apps', { token: token! })).status).toBe(200);
      expect((await second.call('GET', '/api/v1/apps', { token: ADMIN })).status).toBe(401);
    } finally {
      await second.close();
    }
    if (store.kind === 'sqlite')
      expect(readFileSync(store.file).includes(Buffer.from(token!))).toBe(false);
  });

  it('creates apps and keys and issues credentials through the service API', async () => {
    const h = await startHarness({ store: await fixtures[kind].fresh() });
    try {
      const app = await h.cp.apps.createApp({ name: 'default' });
      expect((await h.cp.apps.findAppByName('default'))?.appId).toBe(app.appId);
      expect(await h.cp.apps.findAppByName('none')).toBeUndefined();
      const { key } = await h.cp.apps.createApiKey(app.appId);
      expect(
        (
          await h.call('POST', `/api/v1/apps/${app.appId}/credentials`, {
            token: key,
            body: { channel: 'c', uid: 'u' },
          })
        ).status,
      ).toBe(200);
      const creds = await h.cp.apps.issueCredentials(app.appId, {
        channel: 'c',
        uid: 'u',
        mode: 'force-udp',
      });
      expect(creds.iceServers[0]?.urls).toEqual(['turn:relay.example.com:3478?transport=udp']);
      await expect(
        h.cp.apps.issueCredentials('f'.repeat(32), { channel: 'c', uid: 'u' }),
      ).rejects.toMatchObject({ code: 'not-found' });
    } finally {
      await h.close();
    }
  });
});

describe('SQLite file', () => {
  it('runs in WAL mode with foreign keys, under the given path', async () => {
    const store = await fixtures.sqlite.fresh();
    if (store.kind !== 'sqlite') throw new Error('unreachable');
    const cp = await createControlPlane({ store, adminToken: ADMIN, node: NODE });
    await cp.close();
    await cp.close();
    expect(existsSync(store.file)).toBe(true);
    const db = new Database(store.file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = db
        .prepare("select name from sqlite_master where type = 'table' order by name")
        .all() as { name: string }[];
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining([
          'api_keys',
          'app_secrets',
          'apps',
          'reservations',
          'revocations',
          'settings',
          'usage_daily',
        ]),
      );
    } finally {
      db.close();
    }
  });

  it('fails with ERR_CONTROL_STORE naming the store when it cannot be opened', async () => {
    const store = await fixtures.sqlite.fresh();
    if (store.kind !== 'sqlite') throw new Error('unreachable');
    writeFileSync(store.file, 'not a database, and not a directory');
    await expect(
      createControlPlane({
        store: { kind: 'sqlite', file: path.join(store.file, 'x.db') },
        adminToken: ADMIN,
        node: NODE,
      }),
    ).rejects.toMatchObject({ code: 'ERR_CONTROL_STORE' });
    await expect(
      createControlPlane({ store, adminToken: ADMIN, node: NODE }),
    ).rejects.toMatchObject({
      code: 'ERR_CONTROL_STORE',
      message: expect.stringContaining(store.file),
    });
    await expect(
      createControlPlane({
        store: { kind: 'postgres', url: 'postgres://nobody@127.0.0.1:1/none' },
        adminToken: ADMIN,
        node: NODE,
      }),
    ).rejects.toMatchObject({
      code: 'ERR_CONTROL_STORE',
      message: expect.stringContaining('postgres postgres://nobody@127.0.0.1:1/none'),
    });
  });
});

describe('options', () => {
  it('refuses invalid options naming them', async () => {
    const store = await fixtures.sqlite.fresh();
    const cases = [
      [{ node: { ...NODE, region: 'EU' } }, 'node.region'],
      [{ node: { ...NODE, udpPort: 70000 } }, 'node.udpPort'],
      [{ node: { ...NODE, relayPortRange: { min: 5, max: 4 } } }, 'node.relayPortRange'],
      [{ adminToken: 'short' }, 'adminToken'],
      [{ adminToken: { sha256: 'abc' } }, 'adminToken.sha256'],
      [{ usageIntervalMs: 0 }, 'usageIntervalMs'],
      [{ rateLimit: { perMinute: 0 } }, 'rateLimit.perMinute'],
    ] as const;
    for (const [patch, name] of cases)
      await expect(
        createControlPlane({ store, adminToken: ADMIN, node: NODE, ...patch }),
      ).rejects.toMatchObject({
        code: 'ERR_CONTROL_INVALID_OPTION',
        message: expect.stringContaining(name),
      });
  });
});

describe('admin token given as a hash', () => {
  it('accepts the token whose SHA-256 was configured, in constant time', async () => {
    const token = 'a-token-known-only-by-its-hash';
    const h = await startHarness({
      store: await fixtures.sqlite.fresh(),
      adminToken: { sha256: adminTokenSha256(token) },
    });
    try {
      expect((await h.call('GET', '/api/v1/apps', { token })).status).toBe(200);
      expect((await h.call('GET', '/api/v1/apps', { token: ADMIN })).status).toBe(401);
      expect(h.cp.isAdminToken(token)).toBe(true);
      expect(h.cp.isAdminToken(ADMIN)).toBe(false);
    } finally {
      await h.close();
    }
  });
});

describe('OpenAPI document', () => {
  it('is valid JSON listing every route with its schemas', async () => {
    const h = await startHarness({ store: await fixtures.sqlite.fresh() });
    try {
      const answer = await h.call('GET', '/api/v1/openapi.json');
      const doc = JSON.parse(answer.text);
      expect(doc.openapi).toBe('3.1.0');
      const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
        ([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
      );
      expect(routes.sort()).toEqual(
        [
          'POST /api/v1/apps',
          'GET /api/v1/apps',
          'GET /api/v1/apps/{appId}',
          'PATCH /api/v1/apps/{appId}',
          'DELETE /api/v1/apps/{appId}',
          'POST /api/v1/apps/{appId}/keys',
          'GET /api/v1/apps/{appId}/keys',
          'DELETE /api/v1/apps/{appId}/keys/{keyId}',
          'POST /api/v1/apps/{appId}/secrets',
          'GET /api/v1/apps/{appId}/secrets',
          'DELETE /api/v1/apps/{appId}/secrets/{secretId}',
          'PUT /api/v1/apps/{appId}/reservations/{region}',
          'GET /api/v1/apps/{appId}/reservations',
          'DELETE /api/v1/apps/{appId}/reservations/{region}',
          'POST /api/v1/apps/{appId}/credentials',
          'GET /api/v1/apps/{appId}/turn-credentials',
          'POST /api/v1/apps/{appId}/client-tokens',
          'POST /api/v1/apps/{appId}/revocations',
          'GET /api/v1/apps/{appId}/revocations',
          'DELETE /api/v1/apps/{appId}/revocations',
          'GET /api/v1/allowlist',
          'GET /api/v1/apps/{appId}/usage',
          'GET /api/v1/allocations',
          'GET /api/v1/stats/bandwidth',
          'GET /api/v1/node',
          'POST /api/v1/node/drain',
          'DELETE /api/v1/node/drain',
          'GET /api/v1/cluster/nodes',
          'GET /api/v1/openapi.json',
          'GET /healthz',
          'GET /readyz',
        ].sort(),
      );
      const credentials = doc.paths['/api/v1/apps/{appId}/credentials'].post;
      const body = credentials.requestBody.content['application/json'].schema;
      expect(body.required).toEqual(['channel', 'uid']);
      expect(Object.keys(body.properties)).toEqual(['channel', 'uid', 'ttl', 'mode', 'region']);
      expect(
        credentials.responses['200'].content['application/json'].schema.properties.iceServers,
      ).toBeDefined();
      expect(doc.paths['/api/v1/allowlist'].get.security).toEqual([]);
      expect(
        doc.paths['/api/v1/apps/{appId}/usage'].get.parameters.map((p: { name: string }) => p.name),
      ).toEqual(['appId', 'from', 'to', 'channel', 'format']);
      expect(h.cp.openApi).toEqual(doc);
    } finally {
      await h.close();
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After per token and per IP without one', async () => {
    const h = await startHarness({
      store: await fixtures.sqlite.fresh(),
      rateLimit: { perMinute: 3 },
    });
    try {
      for (let i = 0; i < 3; i++)
        expect((await h.call('GET', '/api/v1/apps', { token: ADMIN })).status).toBe(200);
      const limited = await h.call('GET', '/api/v1/apps', { token: ADMIN });
      expect(limited.status).toBe(429);
      expect(limited.json.code).toBe('rate-limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await h.call('GET', '/api/v1/allowlist')).status).toBe(200);
      expect((await h.call('GET', '/healthz')).status).toBe(200);
      for (let i = 0; i < 2; i++) await h.call('GET', '/api/v1/allowlist');
      expect((await h.call('GET', '/api/v1/allowlist')).status).toBe(429);
      for (let i = 0; i < 5; i++) expect((await h.call('GET', '/readyz')).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
