/**
 * The client SDK's browser bundle in real Chromium against a real TURN server: two clients in
 * one page call each other with `startProxyServer(mode)` and credentials from a callback (REST
 * credentials made by the test, as the control plane would issue them).
 *
 * - force-udp: the selected pair's local candidate is relay over udp, `is-using-cloud-proxy`
 *   fires true and `proxy-connected` reports udp;
 * - force-tcp (web alias 5): relay over TLS;
 * - credentials with a 4-second lifetime are refreshed several times during a call
 *   (`setConfiguration` + ICE restart) while a data channel keeps carrying messages;
 * - `startProxyServer` while connected throws ALREADY_CONNECTED.
 *
 * The page loads the bundle from /sdk/cloudproxy-client.js, as pages served by
 * `cloudproxy start` do. Chromium facts (loopback, SPKI trust for turns:): /work/shared/TESTING.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert, type TestCertificate } from '../helpers/certs.js';
import { launchChromium, type ChromiumHandle, type PageServer } from '../helpers/chromium.js';
import { restCredentials } from '../helpers/credentials.js';
import { buildSdkBundle, serveSdkPage } from '../helpers/sdk-page.js';
import { startTurnServer, turnImpl, type TurnServerHandle } from '../helpers/turn-server.js';

const SECRET = 'sdk-browser-rest-secret';
const CALL_TIMEOUT_MS = 40_000;

interface EventRecord {
  event: string;
  at: number;
  payload: unknown;
}

interface SelectedLocal {
  state?: string;
  candidateType?: string;
  relayProtocol?: string;
  address?: string;
  port?: number;
}

interface SdkCallResult {
  ok: boolean;
  error?: string;
  sent?: number;
  echoed?: number;
  inOrder?: boolean;
  maxGapMs?: number;
  channelOpen?: boolean;
  connectionState?: string;
  alreadyConnected?: { threw: boolean; code?: string; message?: string; mode?: string };
  /** pc1's selected local candidate before the stream (before any refresh). */
  initial?: SelectedLocal;
  selected?: { pc1?: SelectedLocal; pc2?: SelectedLocal };
  events: { a: EventRecord[]; b: EventRecord[] };
  setConfigurationCalls: { pc1: number; pc2: number };
  states: { pc1: string[]; pc2: string[] };
  gathered: { pc1: string[]; pc2: string[] };
  negotiations?: number;
  log: string[];
}

interface CredentialRequest {
  mode: string;
  ttlS: number;
  uid: string;
}

let cert: TestCertificate | undefined;
let server: TurnServerHandle | undefined;
let browser: ChromiumHandle | undefined;
let pageServer: PageServer | undefined;
let page: Page | undefined;
const issued: CredentialRequest[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

/** What the control plane would answer for every mode; the SDK keeps what the mode needs. */
function issueCredentials(request: CredentialRequest): unknown {
  issued.push(request);
  if (!server) throw new Error('server not started');
  const { username, password } = restCredentials(SECRET, `sdk-${request.uid}`, request.ttlS);
  const expiresAtS = Number(username.split(':')[0]);
  return {
    iceServers: [
      {
        urls: [
          `turn:127.0.0.1:${server.udpPort}?transport=udp`,
          `turn:127.0.0.1:${server.udpPort}?transport=tcp`,
          `turns:127.0.0.1:${server.tlsPort}?transport=tcp`,
        ],
        username,
        credential: password,
      },
    ],
    expiresAt: expiresAtS * 1000,
  };
}

beforeAll(async () => {
  buildSdkBundle();
  cert = makeSelfSignedCert();
  cleanups.push(() => cert?.cleanup());
  server = await startTurnServer({
    authSecret: SECRET,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
  });
  cleanups.push(() => server?.stop());
  const html = readFileSync(path.join(import.meta.dirname, 'client-modes-page.html'), 'utf8');
  pageServer = await serveSdkPage(html);
  cleanups.push(() => pageServer?.close());
  browser = await launchChromium({ trustSpki: [cert.spkiSha256] });
  cleanups.push(() => browser?.close());
  page = await browser.context.newPage();
  await page.exposeFunction('issueCredentials', issueCredentials);
  await page.goto(pageServer.url, { timeout: 15_000 });
  await page.waitForFunction('window.sdkReady === true', undefined, { timeout: 15_000 });
});

afterAll(async () => {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
});

interface CallConfig {
  mode: string | number;
  ttlS: number;
  durationMs: number;
  intervalMs: number;
}

async function sdkCall(cfg: CallConfig): Promise<SdkCallResult> {
  if (!page) throw new Error('page not loaded');
  const full = { ...cfg, timeoutMs: CALL_TIMEOUT_MS };
  // A string expression: nothing from the Node side (or a transpiler) is serialized.
  return await page.evaluate<SdkCallResult>(`sdkCall(${JSON.stringify(full)})`);
}

function explain(result: SdkCallResult): string {
  return `${JSON.stringify(result, null, 2)}\n--- ${server?.impl} output (tail) ---\n${server?.output().slice(-3000)}`;
}

function eventsOf(result: SdkCallResult, name: string): EventRecord[] {
  return result.events.a.filter((e) => e.event === name);
}

function expectRelayCall(result: SdkCallResult, mode: string, transport: string): void {
  const why = explain(result);
  expect(result.ok, why).toBe(true);
  expect(result.echoed, why).toBe(result.sent);
  expect(result.inOrder, why).toBe(true);
  for (const side of [result.selected?.pc1, result.selected?.pc2]) {
    expect(side?.candidateType, why).toBe('relay');
    expect(side?.relayProtocol, why).toBe(transport);
  }
  expect(
    eventsOf(result, 'is-using-cloud-proxy').map((e) => e.payload),
    why,
  ).toEqual([true]);
  const connected = eventsOf(result, 'proxy-connected');
  expect(connected, why).toHaveLength(1);
  expect(connected[0]?.payload, why).toMatchObject({ mode, transport });
  expect(eventsOf(result, 'error'), why).toEqual([]);
  expect(eventsOf(result, 'fallback'), why).toEqual([]);
  // Relay-only: no host or server-reflexive candidate was gathered.
  for (const line of [...result.gathered.pc1, ...result.gathered.pc2]) {
    expect(line, why).toMatch(/ typ relay /);
  }
  expect(result.alreadyConnected, why).toMatchObject({ threw: true, code: 'ALREADY_CONNECTED' });
  expect(result.connectionState, why).toBe('connected');
}

describe(`client SDK modes in Chromium through ${turnImpl()}`, () => {
  it('force-udp ends on a relay/udp pair and reports is-using-cloud-proxy true', async () => {
    const result = await sdkCall({ mode: 'force-udp', ttlS: 600, durationMs: 500, intervalMs: 20 });
    expectRelayCall(result, 'force-udp', 'udp');
    expect(issued.filter((r) => r.mode === 'force-udp').length).toBeGreaterThanOrEqual(2);
  });

  it('force-tcp (web alias 5) ends on a relay pair over TLS', async () => {
    const result = await sdkCall({ mode: 5, ttlS: 600, durationMs: 500, intervalMs: 20 });
    expectRelayCall(result, 'force-tcp', 'tls');
    expect(issued.some((r) => r.mode === 'force-tcp')).toBe(true);
  });

  it('refreshes short-lived credentials mid-call without dropping the data channel', async () => {
    const before = issued.length;
    const result = await sdkCall({
      mode: 'force-udp',
      ttlS: 4,
      durationMs: 10_000,
      intervalMs: 50,
    });
    const why = explain(result);
    expect(result.ok, why).toBe(true);
    const refreshed = eventsOf(result, 'credentials-refreshed');
    expect(refreshed.length, why).toBeGreaterThanOrEqual(2);
    expect(
      refreshed.every((e) => (e.payload as { iceRestarted: boolean }).iceRestarted),
      why,
    ).toBe(true);
    expect(result.setConfigurationCalls.pc1, why).toBeGreaterThanOrEqual(2);
    expect(result.setConfigurationCalls.pc2, why).toBeGreaterThanOrEqual(2);
    // Fresh credentials were fetched for each refresh (2 initial + the refreshes of both sides).
    expect(issued.length - before, why).toBeGreaterThanOrEqual(2 + 2 * 2);
    expect(eventsOf(result, 'error'), why).toEqual([]);
    // No drop: every message came back, in order, without a long pause, the channel stayed
    // open and neither connection ever left `connected`.
    expect(result.sent, why).toBeGreaterThan(100);
    expect(result.echoed, why).toBe(result.sent);
    expect(result.inOrder, why).toBe(true);
    expect(result.maxGapMs, why).toBeLessThan(2000);
    expect(result.channelOpen, why).toBe(true);
    for (const states of [result.states.pc1, result.states.pc2]) {
      expect(
        states.filter((s) => s !== 'connecting' && s !== 'connected'),
        why,
      ).toEqual([]);
    }
    // Still relayed over UDP after the restarts, through a new allocation (a new relayed port)
    // made with the refreshed credentials: the first ones expired long before the call ended.
    expect(result.selected?.pc1?.candidateType, why).toBe('relay');
    expect(result.selected?.pc1?.relayProtocol, why).toBe('udp');
    expect(result.initial?.candidateType, why).toBe('relay');
    expect(result.selected?.pc1?.port, why).not.toBe(result.initial?.port);
  });
});
