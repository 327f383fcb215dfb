/**
 * Serves a test page together with the client SDK's browser bundle, the way `cloudproxy start`
 * serves it (`/sdk/cloudproxy-client.js`), on a free 127.0.0.1 port. `buildSdkBundle()` runs
 * packages/client/build-bundle.mjs first so the page never loads a stale bundle.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { PageServer } from './chromium.js';
import { REPO_ROOT } from './turn-server.js';

/** Where the bundle is written and the path the page loads it from. */
export const SDK_BUNDLE_FILE = path.join(REPO_ROOT, 'packages/client/dist/cloudproxy-client.js');
export const SDK_BUNDLE_PATH = '/sdk/cloudproxy-client.js';

/** Builds the SDK's browser bundle from the current sources (esbuild, well under a second). */
export function buildSdkBundle(): void {
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'packages/client/build-bundle.mjs')], {
    stdio: 'pipe',
    timeout: 60_000,
  });
}

/** Serves `html` at `/` and the SDK bundle (and its source map) under `/sdk/`. */
export async function serveSdkPage(html: string): Promise<PageServer> {
  const bundle = readFileSync(SDK_BUNDLE_FILE);
  const map = readFileSync(`${SDK_BUNDLE_FILE}.map`);
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/' || url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else if (url === SDK_BUNDLE_PATH) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(bundle);
    } else if (url === `${SDK_BUNDLE_PATH}.map`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(map);
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
