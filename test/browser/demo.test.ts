/**
 * The demo call of `cloudproxy start` (`/demo`) in real Chromium: two pages join the same room
 * and call each other with the fake camera.
 *
 * - force-udp: remote video plays, the video `inbound-rtp` packetsReceived keeps growing, the
 *   selected pair's local candidate is relay over UDP and the badge says
 *   "force-udp · udp · cloud proxy: yes";
 * - force-tcp: the same over TURN/TLS ("force-tcp · tls · cloud proxy: yes");
 * - the signaling WebSocket went through the node's signaling proxy: the page opened
 *   `wss://NODE/{NODE}/demo/signal`, and the proxy's `cloudproxy_proxy_websockets_open` gauge
 *   counts both pages' sockets while they are in the call.
 *
 * Screenshots: test/browser/screenshots/demo-*.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spkiSha256 } from '../helpers/certs.js';
import { launchChromium, type ChromiumHandle } from '../helpers/chromium.js';
import { startSystem, type StartedSystem } from '../helpers/cloudproxy-start.js';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const CALL_TIMEOUT_MS = 30_000;

interface DemoState {
  events: { name: string; payload: unknown }[];
  badge: { mode?: string; transport?: string; relayed?: boolean; phase?: string; text?: string };
  stats: {
    candidateType?: string;
    relayProtocol?: string;
    packetsReceived?: number;
    framesDecoded?: number;
  };
  signalUrl?: string;
}

let system: StartedSystem | undefined;
let browser: ChromiumHandle | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  system = await startSystem();
  browser = await launchChromium({ trustSpki: [spkiSha256(system.certPem)] });
});

afterAll(async () => {
  await browser?.close();
  await system?.cleanup();
});

async function openDemo(room: string, mode: string): Promise<Page> {
  const page = await browser!.context.newPage();
  page.setDefaultTimeout(CALL_TIMEOUT_MS);
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(`${system!.baseUrl}/demo?room=${room}&mode=${mode}`);
  return page;
}

function demoState(page: Page): Promise<DemoState> {
  return page.evaluate<DemoState>('window.cloudproxyDemo');
}

function remoteVideo(page: Page): Promise<{ readyState: number; width: number }> {
  return page.evaluate<{ readyState: number; width: number }>(
    `(() => { const v = document.getElementById('remote-video');
      return { readyState: v.readyState, width: v.videoWidth }; })()`,
  );
}

async function proxyWebSocketsOpen(): Promise<number> {
  const metrics = await system!.api('GET', '/metrics');
  const line = metrics.text
    .split('\n')
    .find((l) => l.startsWith('cloudproxy_proxy_websockets_open'));
  return Number(line?.split(' ')[1] ?? NaN);
}

function why(states: DemoState[]): string {
  return `${JSON.stringify(states, null, 2)}\npage errors: ${pageErrors.join('\n')}\n--- server output (tail) ---\n${system?.output().slice(-4000) ?? ''}`;
}

/** Two pages join `room` in `mode`; checks the call end to end. */
async function call(room: string, mode: string, transport: string): Promise<void> {
  const a = await openDemo(room, mode);
  const b = await openDemo(room, mode);
  try {
    const started = performance.now();
    await a.locator('#join').click();
    await expect.poll(() => a.locator('#demo-status').textContent()).toContain('Waiting');
    await b.locator('#join').click();
    for (const page of [a, b]) {
      await expect
        .poll(async () => (await demoState(page)).badge.phase, { timeout: CALL_TIMEOUT_MS })
        .toBe('connected');
      await expect
        .poll(async () => (await remoteVideo(page)).width, { timeout: CALL_TIMEOUT_MS })
        .toBeGreaterThan(0);
    }
    const connectedMs = Math.round(performance.now() - started);
    const states = [await demoState(a), await demoState(b)];
    // Signaling crossed the node's proxy: the page's URL names the node as the upstream, and the
    // proxy holds both pages' WebSockets open.
    const host = new URL(system!.baseUrl).host;
    for (const state of states) {
      expect(state.signalUrl?.startsWith(`wss://${host}/${host}/demo/signal?`), why(states)).toBe(
        true,
      );
    }
    expect(await proxyWebSocketsOpen(), why(states)).toBeGreaterThanOrEqual(2);
    // Media flows through the relay: packets keep arriving over a few seconds.
    await expect
      .poll(async () => (await demoState(a)).stats.packetsReceived ?? 0)
      .toBeGreaterThan(0);
    const before = await Promise.all([demoState(a), demoState(b)]);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const after = await Promise.all([demoState(a), demoState(b)]);
    for (const [i, state] of after.entries()) {
      const detail = why(after);
      expect(state.stats.packetsReceived ?? 0, detail).toBeGreaterThan(
        (before[i]?.stats.packetsReceived ?? 0) + 50,
      );
      expect(state.stats.candidateType, detail).toBe('relay');
      expect(state.stats.relayProtocol, detail).toBe(transport);
      expect(state.badge, detail).toMatchObject({ mode, transport, relayed: true });
      expect(state.badge.text, detail).toBe(`${mode} · ${transport} · cloud proxy: yes`);
      expect(
        state.events.filter((e) => e.name === 'error'),
        detail,
      ).toEqual([]);
    }
    expect((await remoteVideo(b)).readyState).toBeGreaterThanOrEqual(2);
    await a.screenshot({ path: path.join(SCREENSHOTS, `demo-${mode}-a.png`), fullPage: true });
    await b.screenshot({ path: path.join(SCREENSHOTS, `demo-${mode}-b.png`), fullPage: true });
    console.log(`demo ${mode}: connected in ${connectedMs} ms`);
    await b.locator('#leave').click();
    await expect.poll(() => a.locator('#demo-status').textContent()).toContain('left');
    await a.locator('#leave').click();
    await expect.poll(() => a.locator('#demo-badge').textContent()).toBe('not in a call');
  } finally {
    await a.close();
    await b.close();
  }
}

describe('the demo call (cloudproxy start, /demo) in Chromium', () => {
  it('force-udp: two pages see each other through the relay over UDP', async () => {
    await call('e2e-udp', 'force-udp', 'udp');
    expect(pageErrors).toEqual([]);
  });

  it('force-tcp: two pages see each other through the relay over TLS', async () => {
    await call('e2e-tls', 'force-tcp', 'tls');
    expect(pageErrors).toEqual([]);
  });
});
