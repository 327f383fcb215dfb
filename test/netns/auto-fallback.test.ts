/**
 * The `auto` mode under a real firewall. Three network namespaces (test/helpers/netns.ts): the
 * node (`cloudproxy start`) runs in the server namespace, which routes between a client host and
 * a peer host; one Chromium runs in each host, both open the node's demo call page and join one
 * room in `auto` (direct first, relay over TLS as the fallback; `fallbackMs=3000`).
 *
 * - nftables in the server namespace drops every UDP packet from and to the client host: the
 *   client can reach neither the peer nor the TURN server over UDP. The SDK's direct phase (STUN
 *   only, no relay) cannot connect; after 3 s it emits `fallback`, switches to relay-only TLS
 *   and the call connects relayed over TURN/TLS (`proxy-connected` with transport `tls` after
 *   the `fallback`, `is-using-cloud-proxy` true, selected local candidate relay/tls), and the
 *   firewall counted the UDP it dropped.
 * - the same block, with the client's TURN/TLS path also slowed (a forwarder in the server
 *   namespace delays the client's data by 1 s, as a TLS-inspecting middlebox would): the
 *   fallback still happens once and the call connects over TLS after it.
 * - without the block, `auto` connects directly: `is-using-cloud-proxy` false, a host candidate
 *   selected, no `fallback`.
 *
 * Root only (namespaces, veths, nftables): without root the suite fails with the reason rather
 * than skipping. Everything it creates is removed at the end, also on failure.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spkiSha256 } from '../helpers/certs.js';
import { CHROMIUM_BIN, chromiumArgs } from '../helpers/chromium.js';
import { createNetnsTopology, netnsUnavailableReason, NETNS_ADDRESSES } from '../helpers/netns.js';
import type { NetnsTopology } from '../helpers/netns.js';
import { REPO_ROOT } from '../helpers/turn-server.js';

const SCREENSHOTS = path.join(import.meta.dirname, '..', 'browser', 'screenshots');
const SERVER_IP = NETNS_ADDRESSES.serverOnClientSide;
// A fresh namespace has every port free.
const HTTPS_PORT = 18443;
const TURN_PORT = 13478;
const TURN_TLS_PORT = 15349;
const CASE_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 30_000;
const DIRECT_TIMEOUT_MS = 3000;
/** Added to every chunk the client sends over TURN/TLS in the fallback case. */
const TLS_DELAY_MS = 1000;
/** Where the slow middlebox of the fallback case listens (in the server namespace). */
const SLOW_PORT = 15350;

/**
 * A TCP forwarder that holds every chunk from the client for TLS_DELAY_MS (order kept) and
 * passes the other direction at once: a slow middlebox on the TURN/TLS path.
 */
const SLOW_FORWARDER = `
import net from 'node:net';
const [host, port, target, targetPort, delayMs] = process.argv.slice(2);
net.createServer((down) => {
  const up = net.connect(Number(targetPort), target);
  const end = () => { down.destroy(); up.destroy(); };
  down.on('data', (chunk) => setTimeout(() => up.write(chunk), Number(delayMs)));
  down.on('end', () => setTimeout(() => up.end(), Number(delayMs)));
  up.on('data', (chunk) => down.write(chunk));
  up.on('close', end);
  down.on('error', end);
  up.on('error', end);
}).listen(Number(port), host, () => process.stdout.write('listening\\n'));
`;

interface DemoState {
  events: { name: string; payload: unknown; atMs: number }[];
  badge: { mode?: string; transport?: string; relayed?: boolean; phase?: string; text?: string };
  stats: {
    candidateType?: string;
    protocol?: string;
    relayProtocol?: string;
    packetsReceived?: number;
  };
}

interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

let work = '';
let net: NetnsTopology | undefined;
let node: ChildProcess | undefined;
let nodeOutput = '';
let certPem = '';
const browsers: Browser[] = [];
const extraProcesses = new Set<ChildProcess>();
const pageErrors: string[] = [];

/** `cloudproxy start` inside the server namespace; resolves once it printed its summary. */
async function startNode(topology: NetnsTopology): Promise<void> {
  const dataDir = path.join(work, 'data');
  const config = path.join(work, 'start.yaml');
  // Peers in the test range are private addresses, refused by the relay's peer policy by default.
  writeFileSync(config, `turn:\n  allowed-peer-ip: ${NETNS_ADDRESSES.range}\n`);
  const args = [
    ...['netns', 'exec', topology.server, process.execPath],
    path.join(REPO_ROOT, 'bin/cloudproxy.js'),
    ...['start', '--config', config, '--data-dir', dataDir],
    ...['--https-port', String(HTTPS_PORT), '--turn-port', String(TURN_PORT)],
    ...['--turn-tls-port', String(TURN_TLS_PORT)],
    ...['--listen-ip', SERVER_IP, '--relay-ip', SERVER_IP],
    ...['--admin-token', 'netns-admin-token-0123456789abcdef'],
    // TURN over TLS on its own port (not shared with HTTPS), so that the fallback case can slow
    // that path alone without slowing the page and its signaling.
    '--no-shared-turn',
  ];
  node = spawn('ip', args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const append = (chunk: Buffer): void => {
    nodeOutput = (nodeOutput + chunk.toString('utf8')).slice(-128 * 1024);
  };
  node.stdout?.on('data', append);
  node.stderr?.on('data', append);
  const deadline = Date.now() + 30_000;
  while (!nodeOutput.includes('demo call:')) {
    if (node.exitCode !== null) throw new Error(`cloudproxy start exited:\n${nodeOutput}`);
    if (Date.now() > deadline)
      throw new Error(`cloudproxy start not ready in 30 s:\n${nodeOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  certPem = readFileSync(path.join(dataDir, 'tls', 'cert.pem'), 'utf8');
}

async function stopNode(): Promise<void> {
  const child = node;
  node = undefined;
  await stopProcess(child);
}

/** The slow middlebox of the fallback case, in the server namespace. */
async function startSlowForwarder(topology: NetnsTopology): Promise<ChildProcess> {
  const script = path.join(work, 'slow-forwarder.mjs');
  writeFileSync(script, SLOW_FORWARDER);
  const args = [SERVER_IP, SLOW_PORT, SERVER_IP, TURN_TLS_PORT, TLS_DELAY_MS].map(String);
  const child = spawn('ip', ['netns', 'exec', topology.server, process.execPath, script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  extraProcesses.add(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('slow forwarder did not start in 10 s')),
      10_000,
    );
    child.stdout.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`slow forwarder exited ${code}`));
    });
  });
  return child;
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child) return;
  extraProcesses.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Chromium inside namespace `ns`: the executable is a wrapper that enters it. */
async function launchIn(ns: string): Promise<Browser> {
  const wrapper = path.join(work, `chromium-${ns}.sh`);
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec '${ns}' '${CHROMIUM_BIN}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  const profile = mkdtempSync(path.join(work, 'profile-'));
  const args = chromiumArgs({
    trustSpki: [spkiSha256(certPem)],
    // The last --host-resolver-rules wins: the node's address must resolve as itself.
    extraArgs: [
      `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE ${SERVER_IP}`,
    ],
  });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: wrapper,
    headless: true,
    args,
    timeout: 30_000,
  });
  const browser = { context, close: () => context.close() };
  browsers.push(browser);
  return browser;
}

beforeAll(async () => {
  const unavailable = netnsUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  work = mkdtempSync(path.join(tmpdir(), 'cloudproxy-netns-'));
  mkdirSync(SCREENSHOTS, { recursive: true });
  net = createNetnsTopology();
  await startNode(net);
  // One Chromium in the client host, one in the peer host.
  await launchIn(net.client);
  await launchIn(net.peer);
}, 90_000);

afterAll(async () => {
  for (const browser of browsers.splice(0)) await browser.close().catch(() => undefined);
  for (const child of [...extraProcesses]) await stopProcess(child);
  await stopNode();
  net?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function openDemo(browser: Browser, room: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(CONNECT_TIMEOUT_MS);
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const query = `room=${room}&mode=auto&fallbackMs=${DIRECT_TIMEOUT_MS}`;
  const url = `https://${SERVER_IP}:${HTTPS_PORT}/demo?${query}`;
  // A browser that just started in a fresh namespace may still see its links settle.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      return page;
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('ERR_NETWORK_CHANGED')) throw err;
    }
  }
}

function demoState(page: Page): Promise<DemoState> {
  return page.evaluate<DemoState>('window.cloudproxyDemo');
}

function explain(states: DemoState[]): string {
  return `${JSON.stringify(states, null, 2)}\npage errors: ${pageErrors.join('\n')}\n--- node output (tail) ---\n${nodeOutput.slice(-4000)}`;
}

/** Client-host and peer-host pages join `room` in auto; resolves once both play remote video. */
async function autoCall(room: string): Promise<{ client: Page; peer: Page; elapsedMs: number }> {
  const [clientBrowser, peerBrowser] = browsers;
  const client = await openDemo(clientBrowser!, room);
  const peer = await openDemo(peerBrowser!, room);
  const started = performance.now();
  await peer.locator('#join').click();
  await expect.poll(() => peer.locator('#demo-status').textContent()).toContain('Waiting');
  await client.locator('#join').click();
  try {
    await waitConnected([client, peer]);
  } catch (err) {
    const states = [await demoState(client), await demoState(peer)];
    throw new Error(`${String(err)}\n${explain(states)}`, { cause: err });
  }
  return { client, peer, elapsedMs: Math.round(performance.now() - started) };
}

/** Waits until every page says connected and plays remote video. */
async function waitConnected(pages: Page[]): Promise<void> {
  for (const page of pages) {
    await expect
      .poll(async () => (await demoState(page)).badge.phase, { timeout: CONNECT_TIMEOUT_MS })
      .toBe('connected');
    await expect
      .poll(() => page.evaluate<number>("document.getElementById('remote-video').videoWidth"), {
        timeout: CONNECT_TIMEOUT_MS,
      })
      .toBeGreaterThan(0);
  }
}

/** Waits until the page's video packet counter grew by more than `packets`. */
async function expectMediaFlowing(page: Page, packets: number): Promise<void> {
  await expect
    .poll(async () => (await demoState(page)).stats.packetsReceived ?? 0)
    .toBeGreaterThan(0);
  const before = (await demoState(page)).stats.packetsReceived ?? 0;
  await expect
    .poll(async () => (await demoState(page)).stats.packetsReceived ?? 0, { timeout: 10_000 })
    .toBeGreaterThan(before + packets);
}

const eventsNamed = (state: DemoState, name: string) =>
  state.events.filter((e) => e.name === name).map((e) => e.payload);

describe('auto mode under a real firewall (network namespaces, Chromium per host)', () => {
  it(
    'UDP dropped between the client host and the rest: auto falls back and connects relayed over TLS',
    async () => {
      net!.blockUdp();
      const { client, peer, elapsedMs } = await autoCall('fw-blocked');
      try {
        await expectMediaFlowing(client, 30);
        const state = await demoState(client);
        const why = explain([state, await demoState(peer)]);
        expect(state.stats.candidateType, why).toBe('relay');
        expect(state.stats.relayProtocol, why).toBe('tls');
        expect(eventsNamed(state, 'is-using-cloud-proxy'), why).toContain(true);
        expect(eventsNamed(state, 'is-using-cloud-proxy').at(-1), why).toBe(true);
        expect(eventsNamed(state, 'proxy-connected').at(-1), why).toMatchObject({
          mode: 'auto',
          transport: 'tls',
        });
        expect(state.badge.text, why).toBe('auto · tls · cloud proxy: yes');
        expect(eventsNamed(state, 'error'), why).toEqual([]);
        // The firewall really was in the way.
        expect(net!.droppedUdpPackets(), why).toBeGreaterThan(0);
        const fallback = eventsNamed(state, 'fallback');
        expect(fallback, why).toHaveLength(1);
        expect(fallback[0], why).toMatchObject({ from: 'direct', to: 'relay' });
        const fallbackAt = state.events.find((e) => e.name === 'fallback')!.atMs;
        const connected = state.events.filter((e) => e.name === 'proxy-connected');
        expect(connected.at(-1)!.atMs, why).toBeGreaterThan(fallbackAt);
        await client.screenshot({ path: path.join(SCREENSHOTS, 'netns-auto-blocked.png') });
        console.log(
          `UDP blocked: connected in ${elapsedMs} ms, after the fallback event ` +
            `${JSON.stringify(fallback[0])}; ${net!.droppedUdpPackets()} UDP packets dropped`,
        );
      } finally {
        await client.close();
        await peer.close();
      }
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'UDP dropped and TLS slow to set up: auto emits fallback after the direct timeout, then connects over TLS',
    async () => {
      net!.blockUdp();
      const middlebox = await startSlowForwarder(net!);
      net!.redirectClientTcp(TURN_TLS_PORT, SLOW_PORT);
      try {
        const { client, peer, elapsedMs } = await autoCall('fw-fallback');
        try {
          await expectMediaFlowing(client, 30);
          const state = await demoState(client);
          const why = explain([state, await demoState(peer)]);
          const fallback = eventsNamed(state, 'fallback');
          expect(fallback, why).toHaveLength(1);
          expect(fallback[0], why).toMatchObject({
            from: 'direct',
            to: 'relay',
            reason: 'timeout',
          });
          const fallbackAt = state.events.find((e) => e.name === 'fallback')!.atMs;
          const connected = state.events.filter((e) => e.name === 'proxy-connected');
          expect(connected.at(-1)?.payload, why).toMatchObject({ mode: 'auto', transport: 'tls' });
          expect(connected.at(-1)!.atMs, why).toBeGreaterThan(fallbackAt);
          expect(eventsNamed(state, 'is-using-cloud-proxy').at(-1), why).toBe(true);
          expect(state.stats.candidateType, why).toBe('relay');
          expect(state.stats.relayProtocol, why).toBe('tls');
          expect(state.badge.text, why).toBe('auto · tls · cloud proxy: yes');
          expect(eventsNamed(state, 'error'), why).toEqual([]);
          await client.screenshot({ path: path.join(SCREENSHOTS, 'netns-auto-fallback.png') });
          console.log(
            `fallback: connected in ${elapsedMs} ms, fallback ${JSON.stringify(fallback[0])}`,
          );
        } finally {
          await client.close();
          await peer.close();
        }
      } finally {
        net!.clearRedirect();
        await stopProcess(middlebox);
      }
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'without the block, auto connects directly (is-using-cloud-proxy false)',
    async () => {
      net!.unblock();
      const { client, peer, elapsedMs } = await autoCall('fw-open');
      try {
        await expectMediaFlowing(client, 30);
        const states = [await demoState(client), await demoState(peer)];
        const why = explain(states);
        for (const state of states) {
          expect(state.stats.candidateType, why).not.toBe('relay');
          expect(state.stats.protocol, why).toBe('udp');
          expect(eventsNamed(state, 'is-using-cloud-proxy'), why).toEqual([false]);
          expect(eventsNamed(state, 'fallback'), why).toEqual([]);
          expect(eventsNamed(state, 'proxy-connected'), why).toEqual([]);
          expect(state.badge.text, why).toBe('auto · udp · cloud proxy: no');
        }
        await client.screenshot({ path: path.join(SCREENSHOTS, 'netns-auto-direct.png') });
        console.log(`no block: direct in ${elapsedMs} ms (${states[0]?.stats.candidateType})`);
      } finally {
        await client.close();
        await peer.close();
      }
    },
    CASE_TIMEOUT_MS,
  );
});
