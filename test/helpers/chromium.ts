/**
 * Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with the flags that work
 * as root in a container (see /work/shared/TESTING.md): no sandbox, no GPU, no QUIC, no proxy,
 * and a host resolver that never reaches the outside network. A fresh user-data dir per launch
 * (`launchPersistentContext`; plain `launch()` rejects `--user-data-dir`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_BIN = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';

export interface ChromiumOptions {
  /** SPKI hashes (base64 SHA-256) of self-signed certificates Chromium should accept. */
  trustSpki?: string[];
  extraArgs?: string[];
}

export interface ChromiumHandle {
  context: BrowserContext;
  close(): Promise<void>;
}

export function chromiumArgs(opts: ChromiumOptions = {}): string[] {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    '--no-proxy-server',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
  ];
  if (opts.trustSpki?.length) {
    args.push(`--ignore-certificate-errors-spki-list=${opts.trustSpki.join(',')}`);
  }
  return [...args, ...(opts.extraArgs ?? [])];
}

/** Launches headless Chromium with a temporary profile; `close()` also removes the profile. */
export async function launchChromium(opts: ChromiumOptions = {}): Promise<ChromiumHandle> {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'chromium-profile-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_BIN,
      headless: true,
      args: chromiumArgs(opts),
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    close: async () => {
      try {
        await context.close();
      } finally {
        rmSync(userDataDir, { recursive: true, force: true });
      }
    },
  };
}

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** A file served next to the page: path → content type and body. */
export type PageFiles = ReadonlyMap<string, { type: string; body: string | Buffer }>;

/**
 * Serves one HTML page on a free 127.0.0.1 port (a real http origin for the test page), plus
 * optional `files` by exact path.
 */
export async function servePage(html: string, files: PageFiles = new Map()): Promise<PageServer> {
  const server = http.createServer((req, res) => {
    const file = files.get(req.url ?? '');
    if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else if (file) {
      res.writeHead(200, { 'content-type': file.type });
      res.end(file.body);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
