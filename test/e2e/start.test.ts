/**
 * `cloudproxy start` as a user runs it: one process with the relay, the control plane API, the
 * signaling proxy and metrics on one HTTPS port. Credentials issued by the API relay real
 * traffic from coturn's `turnutils_uclient`; usage shows the bytes; data survives a restart;
 * a generated admin token is printed on the first start only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem } from '../helpers/cloudproxy-start.js';
import type { StartedSystem } from '../helpers/cloudproxy-start.js';
import { describeRun, runUclient, startEchoPeer } from '../helpers/coturn-tools.js';
import { startPostgres } from '../helpers/postgres.js';
import type { EchoPeer } from '../helpers/coturn-tools.js';

interface IceServer {
  urls: string[];
  username: string;
  credential: string;
}

describe('cloudproxy start', () => {
  let system: StartedSystem;
  let peer: EchoPeer;
  let appId = '';
  let key = '';

  beforeAll(async () => {
    peer = await startEchoPeer();
    system = await startSystem();
  });
  afterAll(async () => {
    await system.cleanup();
    await peer.stop();
  });

  it('prints where everything is and demo credentials', () => {
    const out = system.output();
    expect(out).toContain(`https://127.0.0.1:${system.httpsPort}/console`);
    expect(out).toMatch(/"username": "\d+:[0-9a-f]{32}:demo:demo-user"/);
    expect(out).not.toContain('Admin token (shown once');
  });

  it('serves health, readiness and metrics of every part on the HTTPS port', async () => {
    expect((await system.api('GET', '/healthz')).status).toBe(200);
    expect((await system.api('GET', '/readyz')).status).toBe(200);
    const metrics = await system.api('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('cloudproxy_turn_');
    expect(metrics.text).toContain('cloudproxy_control_');
    expect(metrics.text).toContain('cloudproxy_proxy_');
    // This very request came through the one-port listener and was routed to HTTP/1.1.
    expect(metrics.text).toMatch(
      /cloudproxy_https_connections_routed_total\{role="http\/1\.1",by="\w+"\} [1-9]/,
    );
  });

  it('serves the client SDK browser file', async () => {
    const res = await system.api('GET', '/sdk/cloudproxy-client.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
    expect(res.text).toMatch(/export\s*\{[^}]*createClient/);
  });

  it('creates an app and an API key with the admin token, and refuses without it', async () => {
    expect((await system.api('POST', '/api/v1/apps', { body: { name: 'x' } })).status).toBe(401);
    const app = await system.api('POST', '/api/v1/apps', {
      token: system.adminToken,
      body: { name: 'e2e' },
    });
    expect(app.status).toBe(201);
    appId = (app.json as { appId: string }).appId;
    expect(appId).toMatch(/^[0-9a-f]{32}$/);
    const created = await system.api('POST', `/api/v1/apps/${appId}/keys`, {
      token: system.adminToken,
    });
    expect(created.status).toBe(201);
    key = (created.json as { key: string }).key;
    expect(key.length).toBeGreaterThan(20);
  });

  it('issues credentials that relay real traffic, and meters it', async () => {
    const res = await system.api('POST', `/api/v1/apps/${appId}/credentials`, {
      token: key,
      body: { channel: 'room-1', uid: 'alice', ttl: 600, mode: 'force-udp' },
    });
    expect(res.status).toBe(200);
    const body = res.json as { iceServers: IceServer[]; expiresAt: string };
    const server = body.iceServers[0]!;
    expect(server.urls).toEqual([`turn:127.0.0.1:${system.turnPort}?transport=udp`]);
    const run = await runUclient({
      host: '127.0.0.1',
      port: system.turnPort,
      transport: 'udp',
      peer: { host: '127.0.0.1', port: peer.port },
      user: { name: server.username, password: server.credential },
      messages: 20,
      length: 200,
    });
    expect(run.summary?.received, describeRun(run)).toBe(20);
    // Usage includes what live and ended allocations relayed (uclient has ended by now).
    const deadline = Date.now() + 15_000;
    let bytesIn = 0;
    while (Date.now() < deadline) {
      const usage = await system.api('GET', `/api/v1/apps/${appId}/usage?channel=room-1`, {
        token: key,
      });
      expect(usage.status).toBe(200);
      const rows = (usage.json as { usage: { bytesIn: Record<string, number> }[] }).usage;
      bytesIn = rows.reduce((sum, r) => sum + (r.bytesIn['udp'] ?? 0), 0);
      if (bytesIn > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(bytesIn).toBe(20 * 200);
  });

  it('refuses wrong credentials for the app at the relay', async () => {
    const run = await runUclient({
      host: '127.0.0.1',
      port: system.turnPort,
      transport: 'udp',
      peer: { host: '127.0.0.1', port: peer.port },
      user: {
        name: `${Math.floor(Date.now() / 1000) + 600}:${appId}:room-1:mallory`,
        password: 'x',
      },
      messages: 2,
    });
    expect(run.summary).toBeUndefined();
  });

  it('routes host paths to the signaling proxy, which denies hosts not allowed', async () => {
    const res = await system.api('GET', '/example.com/index.html');
    expect(res.status).toBe(403);
    expect((res.json as { error: { code: string } }).error.code).toBe('host-not-allowed');
    expect((await system.api('GET', '/no-such-page')).status).toBe(404);
  });

  it('keeps apps across a restart', async () => {
    await system.stop();
    system = await startSystem({ dataDir: system.dataDir });
    const res = await system.api('GET', `/api/v1/apps/${appId}`, { token: system.adminToken });
    expect(res.status).toBe(200);
    expect((res.json as { name: string }).name).toBe('e2e');
  });
});

describe('cloudproxy start without an admin token', () => {
  it('generates one, prints it on the first start only, and accepts it', async () => {
    const env = { CLOUDPROXY_ADMIN_TOKEN: '' };
    const first = await startSystem({ adminToken: '', env, extraArgs: [] });
    try {
      const match = /Admin token \(shown once[^)]*\): (\S+)/.exec(first.output());
      expect(match, first.output()).not.toBeNull();
      const token = match![1]!;
      const res = await first.api('GET', '/api/v1/apps', { token });
      expect(res.status).toBe(200);
      await first.stop();
      const second = await startSystem({ dataDir: first.dataDir, adminToken: '', env });
      try {
        expect(second.output()).not.toContain('Admin token (shown once');
        expect((await second.api('GET', '/api/v1/apps', { token })).status).toBe(200);
      } finally {
        await second.stop();
      }
    } finally {
      await first.cleanup();
    }
  });
});

describe('cloudproxy start on PostgreSQL', () => {
  it('keeps apps in the database across nodes and restarts (--database-url)', async () => {
    const pg = await startPostgres('cloudproxy_start');
    try {
      const first = await startSystem({ extraArgs: ['--database-url', pg.url] });
      let appId: string;
      try {
        const app = await first.api('POST', '/api/v1/apps', {
          token: first.adminToken,
          body: { name: 'on-postgres' },
        });
        expect(app.status).toBe(201);
        appId = (app.json as { appId: string }).appId;
      } finally {
        await first.cleanup();
      }
      // A fresh data directory: the app can only come from PostgreSQL.
      const second = await startSystem({ extraArgs: ['--database-url', pg.url] });
      try {
        const res = await second.api('GET', `/api/v1/apps/${appId}`, { token: second.adminToken });
        expect(res.status).toBe(200);
        expect((res.json as { name: string }).name).toBe('on-postgres');
      } finally {
        await second.cleanup();
      }
    } finally {
      await pg.stop();
    }
  });
});
