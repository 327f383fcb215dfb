/**
 * Runs the real `cloudproxy start` (built CLI, `node bin/cloudproxy.js start`) on free loopback
 * ports with a temporary data directory, and waits until its HTTPS port answers /healthz.
 * Tests talk to it with `api()` (HTTPS with the generated certificate trusted).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';
import { REPO_ROOT } from './turn-server.js';

export interface StartedSystem {
  readonly dataDir: string;
  readonly httpsPort: number;
  readonly turnPort: number;
  readonly turnTlsPort: number;
  readonly adminToken: string;
  readonly baseUrl: string;
  /** PEM of the self-signed certificate the node generated. */
  readonly certPem: string;
  output(): string;
  /** Calls the HTTPS surface; `token` becomes the bearer. JSON bodies in and out. */
  api(
    method: string,
    urlPath: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
    json: unknown;
  }>;
  /** SIGTERM and wait (SIGKILL after `timeoutMs`). Keeps the data directory. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Stops and removes the data directory. */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  readonly dataDir?: string;
  readonly adminToken?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: Record<string, string>;
  /** Pass `--allow-loopback-peers` (default true); false keeps the production peer policy. */
  readonly allowLoopbackPeers?: boolean;
}

function request(
  url: string,
  ca: string,
  method: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> },
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = https.request(
      url,
      {
        method,
        ca,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Starts `cloudproxy start`; rejects (after killing it) when /healthz does not answer in 30 s. */
export async function startSystem(opts: StartOptions = {}): Promise<StartedSystem> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'cloudproxy-start-'));
  const [httpsPort, turnPort, turnTlsPort] = await freePorts(3);
  const adminToken = opts.adminToken ?? 'test-admin-token-0123456789abcdef';
  const args = [
    path.join(REPO_ROOT, 'bin/cloudproxy.js'),
    'start',
    '--data-dir',
    dataDir,
    '--https-port',
    String(httpsPort),
    '--turn-port',
    String(turnPort),
    '--turn-tls-port',
    String(turnTlsPort),
    '--listen-ip',
    '127.0.0.1',
    '--relay-ip',
    '127.0.0.1',
    ...(opts.allowLoopbackPeers === false ? [] : ['--allow-loopback-peers']),
    ...(adminToken ? ['--admin-token', adminToken] : []),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-256 * 1024);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const baseUrl = `https://127.0.0.1:${httpsPort}`;
  const certFile = path.join(dataDir, 'tls', 'cert.pem');
  let certPem = '';
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`cloudproxy start exited ${child.exitCode}:\n${output}`);
    try {
      certPem = readFileSync(certFile, 'utf8');
      const res = await request(`${baseUrl}/healthz`, certPem, 'GET', {});
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`cloudproxy start did not become healthy in 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = (timeoutMs = 10_000): Promise<number | null> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return waitExit(child, timeoutMs);
  };
  return {
    dataDir,
    httpsPort: httpsPort!,
    turnPort: turnPort!,
    turnTlsPort: turnTlsPort!,
    adminToken,
    baseUrl,
    certPem,
    output: () => output,
    api: (method, urlPath, options = {}) =>
      request(`${baseUrl}${urlPath}`, certPem, method, options),
    stop,
    cleanup: async () => {
      await stop(2_000);
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
