/**
 * Serves a test page together with the client SDK's browser bundle, the way `cloudproxy start`
 * serves it (`/sdk/cloudproxy-client.js`), on a free 127.0.0.1 port. `buildSdkBundle()` runs
 * packages/client/build-bundle.mjs first so the page never loads a stale bundle.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { servePage } from './chromium.js';
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
export function serveSdkPage(html: string): Promise<PageServer> {
  return servePage(
    html,
    new Map([
      [
        SDK_BUNDLE_PATH,
        { type: 'text/javascript; charset=utf-8', body: readFileSync(SDK_BUNDLE_FILE) },
      ],
      [
        `${SDK_BUNDLE_PATH}.map`,
        { type: 'application/json', body: readFileSync(`${SDK_BUNDLE_FILE}.map`) },
      ],
    ]),
  );
}
