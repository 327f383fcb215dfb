/**
 * The web console and the ICE diagnostics page in real Chromium, against the real
 * `cloudproxy start` (control plane API, web pages and TURN server in one process, HTTPS with
 * the self-signed certificate it generates): log in with the admin token, create an app and an
 * API key, issue force-udp credentials in the credentials tester, open them in the diagnostics
 * page, gather relay-only candidates (a relay candidate, verdict "reachable"), and run the
 * relayed connection test (two relay-only peers, selected pair relay ↔ relay over UDP).
 * Screenshots of every step go to test/browser/screenshots/.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spkiSha256 } from '../helpers/certs.js';
import { launchChromium, type ChromiumHandle } from '../helpers/chromium.js';
import { startSystem } from '../helpers/cloudproxy-start.js';
import { freePorts } from '../helpers/ports.js';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const ADMIN_TOKEN = `admin-${randomBytes(12).toString('hex')}`;
const STEP_TIMEOUT_MS = 20_000;

interface System {
  baseUrl: string;
  spki: string;
  output(): string;
  stop(): Promise<void>;
}

/** The real `cloudproxy start` on free loopback ports (test/helpers/cloudproxy-start.ts). */
async function startReal(): Promise<System> {
  const started = await startSystem({ adminToken: ADMIN_TOKEN });
  return {
    baseUrl: started.baseUrl,
    spki: spkiSha256(started.certPem),
    output: () => started.output(),
    stop: () => started.cleanup(),
  };
}

let system: System | undefined;
let browser: ChromiumHandle | undefined;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  system = await startReal();
  browser = await launchChromium({ trustSpki: [system.spki] });
  page = await browser.context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (message: ConsoleMessage) => {
    // The refused login attempt is logged by Chromium as a failed resource load: expected.
    if (message.type() === 'error' && !message.text().includes('status of 401')) {
      pageErrors.push(message.text());
    }
  });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
});

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

function why(): string {
  return `page errors: ${pageErrors.join('\n')}\n--- server output (tail) ---\n${system?.output().slice(-4000) ?? ''}`;
}

describe('console and diagnostics in Chromium (cloudproxy start)', () => {
  let appId = '';
  let apiKey = '';
  let turnUrl = '';

  it('refuses a wrong admin token, then logs in with the right one', async () => {
    await page.goto(`${system!.baseUrl}/console`);
    await page.locator('#login-token').fill('not-the-token');
    await page.locator('#login-form button[type=submit]').click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('401');
    await shot('01-login-refused');
    await page.locator('#login-token').fill(ADMIN_TOKEN);
    await page.locator('#login-form button[type=submit]').click();
    await page.locator('#console-view').waitFor({ state: 'visible' });
    await shot('02-logged-in');
  });

  it('creates an app and an API key (shown once)', async () => {
    await page.locator('#app-create-form input[name=name]').fill('e2e-app');
    await page.locator('#app-create-form button[type=submit]').click();
    await page.locator('#app-detail:not([hidden])').waitFor();
    appId = (await page.locator('#app-detail').getAttribute('data-app-id')) ?? '';
    expect(appId, why()).toMatch(/^[0-9a-f]{32}$/);
    await page.locator(`#apps-table tr[data-app-id="${appId}"]`).waitFor();
    await page.locator('#key-create-form input[name=label]').fill('e2e');
    await page.locator('#key-create-form button[type=submit]').click();
    apiKey = ((await page.locator('#new-api-key').textContent()) ?? '').trim();
    expect(apiKey.length, why()).toBeGreaterThan(10);
    await shot('03-app-and-key');
  });

  it('issues force-udp credentials with the API key in the credentials tester', async () => {
    await page.locator('[data-nav=credentials]').click();
    const form = page.locator('#cred-form');
    await form.locator('select[name=appId]').selectOption(appId);
    await form.locator('input[name=channel]').fill('e2e-channel');
    await form.locator('input[name=uid]').fill('e2e-user');
    await form.locator('select[name=mode]').selectOption('force-udp');
    await form.locator('input[name=apiKey]').fill(apiKey);
    await form.locator('button[type=submit]').click();
    await page.locator('#cred-result:not([hidden])').waitFor();
    const answer = JSON.parse((await page.locator('#cred-json').textContent()) ?? '{}') as {
      iceServers: { urls: string[] | string }[];
    };
    const urls = answer.iceServers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
    expect(urls.length, why()).toBeGreaterThan(0);
    for (const url of urls) expect(url).toMatch(/^turn:.*transport=udp$/);
    turnUrl = urls[0]!;
    await shot('04-credentials');
  });

  it('gathers a relay candidate in diagnostics with verdict reachable', async () => {
    await page.locator('#cred-open-diagnostics').click();
    await page.waitForURL(/\/diagnostics/);
    await page.locator('#servers-table tbody tr[data-index]').first().waitFor();
    await page.locator('#policy-relay').check();
    await page.locator('#gather-start').click();
    await page.locator('#gather-status[data-status=done]').waitFor();
    await shot('05-diagnostics-gathered');
    expect(
      await page.locator('#candidates-table tr[data-type=relay]').count(),
      why(),
    ).toBeGreaterThan(0);
    expect(await page.locator('#candidates-table tr[data-type=host]').count()).toBe(0);
    const udp = page.locator('#verdicts-table tr[data-url*="transport=udp"]').first();
    expect(await udp.getAttribute('data-status'), why()).toBe('reachable');
  });

  it('makes a relayed connection over UDP', async () => {
    await page.locator('#relay-test-start').click();
    await page
      .locator('#verdict:not([data-status=running]):not([data-status=idle])')
      .waitFor({ timeout: 40_000 });
    await shot('06-relay-test');
    const verdict = page.locator('#verdict');
    expect(
      await verdict.getAttribute('data-status'),
      `${await verdict.textContent()}\n${why()}`,
    ).toBe('ok');
    expect(await verdict.getAttribute('data-relay-protocol')).toBe('udp');
    expect(await verdict.textContent()).toContain('Relayed connection works over udp');
  });

  it('judges a wrong credential "authentication failed" and a closed port "not reachable"', async () => {
    const [closedPort] = await freePorts(1);
    const config = [
      { urls: turnUrl, username: 'e2e', credential: 'wrong-password' },
      { urls: `turn:127.0.0.1:${closedPort}?transport=udp`, username: 'e2e', credential: 'x' },
    ];
    await page.locator('#servers-json').evaluate((node) => {
      node.closest('details')?.setAttribute('open', '');
    });
    await page.locator('#servers-json').fill(JSON.stringify(config));
    await page.locator('#servers-json-load').click();
    await page.locator('#policy-relay').check();
    await page.locator('#gather-form select[name=timeoutS]').selectOption('5');
    await page.locator('#gather-start').click();
    await page.locator('#gather-status[data-status=done]').waitFor();
    await shot('07-diagnostics-failures');
    const rows = page.locator('#verdicts-table tbody tr');
    expect(await rows.nth(0).getAttribute('data-status'), why()).toBe('auth-failed');
    expect(await rows.nth(1).getAttribute('data-status'), why()).toBe('unreachable');
    expect(await page.locator('#errors-table tr[data-error-code="401"]').count()).toBeGreaterThan(
      0,
    );
  });

  it('fetches fresh credentials in diagnostics with the API key', async () => {
    const form = page.locator('#creds-form');
    expect(await form.locator('input[name=appId]').inputValue()).toBe(appId);
    await form.locator('input[name=token]').fill(apiKey);
    await form.locator('select[name=mode]').selectOption('force-udp');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => page.locator('#servers-source').textContent())
      .toContain('Fresh credentials');
    expect(await page.locator('#servers-table tbody tr[data-index]').count()).toBeGreaterThan(0);
  });

  it('shows the other console sections without errors', async () => {
    await page.goto(`${system!.baseUrl}/console#live`);
    await page.locator('#console-view').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#live-updated').textContent()).toContain('updated');
    await shot('08-live');
    await page.locator('[data-nav=bandwidth]').click();
    await expect.poll(() => page.locator('#bw-summary').textContent()).toContain('samples');
    await shot('09-bandwidth');
    await page.locator('[data-nav=allowlist]').click();
    await page.locator('#allowlist-table tbody tr').first().waitFor();
    await shot('10-allowlist');
    await page.locator('[data-nav=usage]').click();
    await page.locator('#usage-form select[name=appId]').selectOption(appId);
    await page.locator('#usage-form button[type=submit]').click();
    await page.locator('#usage-status:not([hidden])').waitFor();
    await shot('11-usage');
    const download = page.waitForEvent('download');
    await page.locator('#usage-csv').click();
    expect((await download).suggestedFilename()).toMatch(/^usage-[0-9a-f]{32}-.*\.csv$/);
    const ids = [
      '#live-status',
      '#bw-status',
      '#allowlist-status',
      '#usage-status',
      '#console-status',
    ];
    for (const id of ids) {
      expect(await page.locator(id).getAttribute('data-kind'), `${id}\n${why()}`).not.toBe('error');
    }
    expect(pageErrors, why()).toEqual([]);
  });
});
