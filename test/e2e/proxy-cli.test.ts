/**
 * The built `cloudproxy proxy` as an operator runs it: a real process in front of a loopback
 * HTTPS + WebSocket upstream (test CA), configured by flags or by a YAML file; refusals, one
 * proxied request and WebSocket, configuration errors, graceful stop.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startHttpsUpstream } from '../helpers/https-upstream.js';
import type { HttpsUpstream } from '../helpers/https-upstream.js';
import { PROXY_OPTIONS } from '../../packages/cli/src/config/proxy-options.js';
import { runProcess } from '../helpers/processes.js';
import { REPO_ROOT } from '../helpers/turn-server.js';

const CLI = path.join(REPO_ROOT, 'bin/cloudproxy.js');
const READY_TIMEOUT_MS = 15_000;

interface RunningProxy {
  readonly child: ChildProcess;
  readonly base: string;
  output(): string;
}

let upstream: HttpsUpstream;
let client: Agent;
let tempDir: string;
let running: RunningProxy[] = [];

/** Newest modification time under `dir` (source files only). */
function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** Builds the CLI when its dist is older than the sources it runs (proxy and cli packages). */
function ensureBuilt(): void {
  const built = path.join(REPO_ROOT, 'packages/cli/dist/commands/proxy.js');
  const builtMs = statSync(built, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = ['packages/proxy/src', 'packages/cli/src'].map((d) =>
    newestMtimeMs(path.join(REPO_ROOT, d)),
  );
  if (builtMs < Math.max(...sources)) {
    execFileSync('npx', ['tsc', '-b', 'packages/cli'], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
      timeout: 120_000,
    });
  }
}

/** Starts `cloudproxy proxy ARGS` and waits for its ready line (listening on port 0). */
async function startProxy(args: string[]): Promise<RunningProxy> {
  const child = spawn(process.execPath, [CLI, 'proxy', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const proxy: RunningProxy = {
    child,
    base: '',
    output: () => output,
  };
  running.push(proxy);
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      for (const line of output.split('\n')) {
        if (!line.includes('"event":"ready"')) continue;
        clearTimeout(timer);
        const parsed = JSON.parse(line) as { listen: { address: string; port: number } };
        resolve(`https://127.0.0.1:${parsed.listen.port}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${String(code)} before ready:\n${output}`));
    });
  });
  return { ...proxy, base: await ready };
}

function baseArgs(): string[] {
  return [
    '--listen',
    '127.0.0.1:0',
    '--cert',
    upstream.pki.certFile,
    '--pkey',
    upstream.pki.keyFile,
    '--upstream-ca',
    upstream.pki.caFile,
    '--allow-port',
    String(upstream.port),
  ];
}

async function errorCodeOf(url: string): Promise<{ status: number; code: string }> {
  const res = await request(url, { dispatcher: client });
  const body = (await res.body.json()) as { error?: { code?: string } };
  return { status: res.statusCode, code: body.error?.code ?? '' };
}

beforeAll(async () => {
  ensureBuilt();
  upstream = await startHttpsUpstream();
  client = new Agent({ connect: { ca: upstream.pki.caPem } });
  tempDir = mkdtempSync(path.join(tmpdir(), 'proxy-cli-'));
});

afterEach(async () => {
  for (const proxy of running) {
    if (proxy.child.exitCode === null && proxy.child.signalCode === null) {
      proxy.child.kill('SIGKILL');
      await once(proxy.child, 'exit');
    }
  }
  running = [];
});

afterAll(async () => {
  await client.destroy();
  await upstream.close();
  rmSync(tempDir, { recursive: true, force: true });
});

describe('cloudproxy proxy', () => {
  it('proxies an allowed upstream and refuses the rest with JSON errors', async () => {
    const proxy = await startProxy([
      ...baseArgs(),
      '--allow-host',
      '127.0.0.1',
      '--allow-host',
      '*.upstream.test',
      '--allow-private-upstream',
      '127.0.0.0/8',
      '--cors-origin',
      'https://app.example',
    ]);
    const target = `127.0.0.1:${upstream.port}`;
    const res = await request(`${proxy.base}/${target}/echo?q=1`, {
      dispatcher: client,
      method: 'POST',
      body: 'from the cli test',
      headers: { origin: 'https://app.example' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(await res.body.json()).toMatchObject({
      method: 'POST',
      url: '/echo?q=1',
      body: 'from the cli test',
    });

    expect(await errorCodeOf(`${proxy.base}/api.evil.example/x`)).toEqual({
      status: 403,
      code: 'host-not-allowed',
    });
    expect(await errorCodeOf(`${proxy.base}/evilupstream.test:${upstream.port}/x`)).toEqual({
      status: 403,
      code: 'host-not-allowed',
    });
    expect(await errorCodeOf(`${proxy.base}/127.0.0.1:8443/x`)).toEqual({
      status: 403,
      code: 'port-not-allowed',
    });
    expect(await errorCodeOf(`${proxy.base}/not-a-proxy-path`)).toEqual({
      status: 404,
      code: 'not-found',
    });

    const ws = new WebSocket(`${proxy.base.replace('https', 'wss')}/${target}/ws`, {
      ca: upstream.pki.caPem,
    });
    await once(ws, 'open');
    ws.send('through the cli');
    const [message] = (await once(ws, 'message')) as [Buffer];
    expect(message.toString()).toBe('through the cli');
    ws.close(1000);
    await once(ws, 'close');

    // The access log is written in batches, at least once a second.
    const deadline = Date.now() + 5000;
    while (!proxy.output().includes('"code":"host-not-allowed"') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(proxy.output()).toContain('"event":"proxy.access"');
    expect(proxy.output()).toContain('"code":"host-not-allowed"');

    proxy.child.kill('SIGTERM');
    const [code] = (await once(proxy.child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('takes the same options from a YAML --config file and refuses a name that resolves to loopback', async () => {
    const file = path.join(tempDir, 'proxy.yaml');
    writeFileSync(
      file,
      [
        'listen: 127.0.0.1:0',
        `cert: ${upstream.pki.certFile}`,
        `pkey: ${upstream.pki.keyFile}`,
        `upstream-ca: ${upstream.pki.caFile}`,
        `allow-port: [${upstream.port}]`,
        'allow-host:',
        '  - localhost',
        '  - 127.0.0.1',
        'rate-limit: 1000',
      ].join('\n'),
    );
    const proxy = await startProxy(['--config', file]);
    // Allowed by name, but the system resolver says loopback and no private range is opened.
    expect(await errorCodeOf(`${proxy.base}/localhost:${upstream.port}/echo`)).toEqual({
      status: 403,
      code: 'private-address',
    });
    expect(await errorCodeOf(`${proxy.base}/127.0.0.1:${upstream.port}/echo`)).toEqual({
      status: 403,
      code: 'private-address',
    });
  });

  it('refuses bad configuration with a message naming the option', async () => {
    const file = path.join(tempDir, 'bad.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:0\nallow-hosts: [x.example]\n');
    const unknownKey = await runProcess(process.execPath, [CLI, 'proxy', '--config', file], 15_000);
    expect(unknownKey.code).toBe(1);
    expect(unknownKey.stderr).toContain("unknown option 'allow-hosts'");

    const badPattern = await runProcess(
      process.execPath,
      [CLI, 'proxy', ...baseArgs(), '--allow-host', '*'],
      15_000,
    );
    expect(badPattern.code).toBe(1);
    expect(badPattern.stderr).toContain("allowHosts[0]: '*'");

    const badCors = await runProcess(
      process.execPath,
      [CLI, 'proxy', ...baseArgs(), '--cors-origin', '*', '--cors-credentials'],
      15_000,
    );
    expect(badCors.code).toBe(1);
    expect(badCors.stderr).toContain('credentials');
  });

  it('runs --workers 2 behind one port: restarts a killed worker, stops all on SIGTERM', async () => {
    const proxy = await startProxy([
      ...baseArgs(),
      '--workers',
      '2',
      '--allow-host',
      '127.0.0.1',
      '--allow-private-upstream',
      '127.0.0.0/8',
    ]);
    expect(proxy.output()).toContain('"workers":2');
    const url = `${proxy.base}/127.0.0.1:${upstream.port}/echo`;
    const proxied = async (): Promise<number> => {
      const res = await request(url, { dispatcher: client });
      await res.body.dump();
      return res.statusCode;
    };
    expect(await proxied()).toBe(200);
    const childrenOf = (pid: number): number[] =>
      readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter((text) => text !== '')
        .map(Number);
    const pid = proxy.child.pid ?? 0;
    const workers = childrenOf(pid);
    expect(workers).toHaveLength(2);
    process.kill(workers[0] ?? 0, 'SIGKILL');
    // The log is written in batches: wait for the line as well as for the new worker.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const now = childrenOf(pid);
      const logged = proxy.output().includes('"event":"worker.exit"');
      if (logged && now.length === 2 && !now.includes(workers[0] ?? 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(childrenOf(pid)).not.toContain(workers[0]);
    expect(childrenOf(pid)).toHaveLength(2);
    expect(proxy.output()).toContain('"event":"worker.exit"');
    for (let i = 0; i < 4; i++) expect(await proxied()).toBe(200);

    const remaining = childrenOf(pid);
    proxy.child.kill('SIGTERM');
    const [code] = (await once(proxy.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    for (const worker of remaining) expect(() => process.kill(worker, 0)).toThrow();
  });

  it('is documented option by option in docs/cli-proxy.md', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/cli-proxy.md'), 'utf8');
    for (const option of PROXY_OPTIONS) expect(doc).toContain(`| \`--${option.name}`);
  });
});
