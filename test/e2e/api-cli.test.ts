/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- the tests probe the API's JSON answers */
/**
 * The built `cloudproxy api` as an operator runs it: generated admin token printed once and kept
 * (hash only) across a restart, the API over plain HTTP on loopback and over HTTPS, PostgreSQL
 * with --database-url, and refusals of unsafe listen settings.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../helpers/certs.js';
import { freePort } from '../helpers/ports.js';
import { startPostgres } from '../helpers/postgres.js';
import { REPO_ROOT } from '../helpers/turn-server.js';

const CLI = path.join(REPO_ROOT, 'bin/cloudproxy.js');
const dirs: string[] = [];
let children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(children.map((c) => stop(c)));
  children = [];
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-api-'));
  dirs.push(dir);
  return dir;
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
}

/** Starts `cloudproxy api …` and waits for its ready line (bounded). */
async function startApi(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'api', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CLOUDPROXY_ADMIN_TOKEN: '', ...env },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`api not ready in 20 s:\n${stdout}\n${stderr}`)),
      20_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"event":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`api exited ${code}:\n${stdout}\n${stderr}`));
    });
  });
  return { child, stderr: () => stderr };
}

function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** Runs `cloudproxy api …` expecting it to refuse to start. */
function refuse(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'api', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

async function api(base: string, method: string, pathname: string, token?: string, body?: unknown) {
  const res = await fetch(base + pathname, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('cloudproxy api', () => {
  it('prints a generated admin token once, keeps only its hash, and serves the API across restarts', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const args = [
      '--listen',
      `127.0.0.1:${port}`,
      '--insecure-http',
      '--data-dir',
      dataDir,
      '--relay-ip',
      '203.0.113.9',
      '--public-host',
      'turn.example.org',
    ];
    const first = await startApi(args);
    const token = /\n(cpa_[A-Za-z0-9_-]+)\n/.exec(first.stderr())?.[1];
    expect(token, first.stderr()).toBeDefined();
    const base = `http://127.0.0.1:${port}`;
    const app = await api(base, 'POST', '/api/v1/apps', token, { name: 'cli' });
    expect(app.status).toBe(201);
    const key = await api(base, 'POST', `/api/v1/apps/${app.json.appId}/keys`, token, {});
    const creds = await api(
      base,
      'POST',
      `/api/v1/apps/${app.json.appId}/credentials`,
      key.json.key,
      { channel: 'c', uid: 'u', mode: 'force-tcp' },
    );
    expect(creds.json.iceServers[0].urls).toEqual(['turns:turn.example.org:5349?transport=tcp']);
    const allowlist = await api(base, 'GET', '/api/v1/allowlist');
    expect(allowlist.json.regions[0]).toMatchObject({
      region: 'default',
      domains: ['turn.example.org'],
      relays: [{ address: '203.0.113.9' }],
    });
    expect(await stop(first.child)).toBe(0);
    expect(readdirSync(dataDir)).toContain('cloudproxy.db');
    expect(readFileSync(path.join(dataDir, 'cloudproxy.db')).includes(Buffer.from(token!))).toBe(
      false,
    );

    const second = await startApi(args);
    expect(second.stderr()).not.toContain('cpa_');
    expect((await api(base, 'GET', `/api/v1/apps/${app.json.appId}`, token)).json.name).toBe('cli');
    expect((await api(base, 'GET', '/readyz')).status).toBe(200);
    expect(await api(base, 'GET', '/not-the-api')).toEqual({
      status: 404,
      json: expect.objectContaining({ status: 404, code: 'not-found' }),
    });
  });

  it('keeps a consistent store when killed (SIGKILL) in the middle of writes', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const token = 'a-long-enough-admin-token';
    const args = [
      '--listen',
      `127.0.0.1:${port}`,
      '--insecure-http',
      '--data-dir',
      dataDir,
      '--admin-token',
      token,
      '--rate-limit',
      '100000',
    ];
    const first = await startApi(args);
    const base = `http://127.0.0.1:${port}`;
    const acknowledged: string[] = [];
    let stopWriting = false;
    const writer = async (n: number): Promise<void> => {
      for (let i = 0; !stopWriting && i < 10_000; i++) {
        const created = await api(base, 'POST', '/api/v1/apps', token, {
          name: `w${n}-${i}`,
        }).catch(() => undefined);
        if (created?.status !== 201) return;
        acknowledged.push(created.json.appId);
        await api(base, 'POST', `/api/v1/apps/${created.json.appId}/secrets`, token).catch(
          () => undefined,
        );
      }
    };
    const writers = [0, 1, 2, 3].map((n) => writer(n));
    const deadline = Date.now() + 20_000;
    while (acknowledged.length < 40 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(acknowledged.length, first.stderr()).toBeGreaterThanOrEqual(40);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    stopWriting = true;
    await Promise.all(writers);

    await startApi(args);
    const apps = (await api(base, 'GET', '/api/v1/apps', token)).json.apps as { appId: string }[];
    const ids = new Set(apps.map((a) => a.appId));
    for (const id of acknowledged) expect(ids.has(id), id).toBe(true);
    for (const app of apps) {
      // App and first secret are written in one transaction: never one without the other.
      const secrets = await api(base, 'GET', `/api/v1/apps/${app.appId}/secrets`, token);
      expect(secrets.json.secrets.length).toBeGreaterThanOrEqual(1);
    }
    const db = new Database(path.join(dataDir, 'cloudproxy.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('foreign_key_check')).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('serves HTTPS with --cert/--pkey and takes the admin token from CLOUDPROXY_ADMIN_TOKEN', async () => {
    const cert = makeSelfSignedCert();
    try {
      const port = await freePort();
      const adminToken = 'an-admin-token-from-the-environment';
      await startApi(
        [
          '--listen',
          `127.0.0.1:${port}`,
          '--cert',
          cert.certFile,
          '--pkey',
          cert.keyFile,
          '--data-dir',
          tempDir(),
        ],
        {
          CLOUDPROXY_ADMIN_TOKEN: adminToken,
        },
      );
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port,
            path: '/api/v1/apps',
            method: 'GET',
            rejectUnauthorized: false,
            headers: { authorization: `Bearer ${adminToken}` },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.once('error', reject);
        req.end();
      });
      expect(status).toBe(200);
    } finally {
      cert.cleanup();
    }
  });

  it('stores in PostgreSQL with --database-url', async () => {
    const pg = await startPostgres();
    try {
      const port = await freePort();
      const running = await startApi([
        '--listen',
        `127.0.0.1:${port}`,
        '--insecure-http',
        '--database-url',
        pg.url,
        '--admin-token',
        'a-long-enough-admin-token',
      ]);
      const base = `http://127.0.0.1:${port}`;
      expect(
        (await api(base, 'POST', '/api/v1/apps', 'a-long-enough-admin-token', { name: 'pg' }))
          .status,
      ).toBe(201);
      expect((await api(base, 'GET', '/readyz')).json).toEqual({
        status: 'ready',
        store: 'postgres',
      });
      expect(await stop(running.child)).toBe(0);
    } finally {
      await pg.stop();
    }
  });

  it('refuses plain HTTP off loopback, HTTP without --insecure-http, and bad options, naming them', async () => {
    const port = await freePort();
    const offLoopback = await refuse([
      '--listen',
      `0.0.0.0:${port}`,
      '--insecure-http',
      '--data-dir',
      tempDir(),
    ]);
    expect(offLoopback.code).toBe(1);
    expect(offLoopback.stderr).toContain('--insecure-http');
    const noTls = await refuse(['--listen', `127.0.0.1:${port}`, '--data-dir', tempDir()]);
    expect(noTls.stderr).toContain('--cert');
    const badPort = await refuse(['--listen', '127.0.0.1:99999', '--insecure-http']);
    expect(badPort.stderr).toContain('--listen');
    const badUrl = await refuse(['--insecure-http', '--database-url', 'mysql://x']);
    expect(badUrl.stderr).toContain('--database-url');
  });
});
