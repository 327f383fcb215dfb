/**
 * Fault: the relay process is killed (SIGKILL: no drain, every allocation lost) and started
 * again on the same ports, in the middle of a relay-only call between two peer connections made
 * by the client SDK in real Chromium (force-udp, then force-tcp over TLS).
 *
 * Kept: the call. The SDK sees ICE go `disconnected`/`failed`, emits `reconnecting`, fetches
 * fresh credentials, `setConfiguration` + `restartIce()` (the page renegotiates on
 * `negotiationneeded`), and emits `reconnected` once the new allocations carry the call.
 * Nothing lost: the data channel (reliable, ordered) echoes every message sent, including the
 * ones sent while the relay was down, in order. Refused: nothing the client can see; the old
 * allocations are gone with the process and are replaced.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert, type TestCertificate } from '../helpers/certs.js';
import { launchChromium, type ChromiumHandle, type PageServer } from '../helpers/chromium.js';
import { restCredentials } from '../helpers/credentials.js';
import { freePorts } from '../helpers/ports.js';
import { buildSdkBundle, serveSdkPage } from '../helpers/sdk-page.js';
import { sleep, startTurnProcess, waitFor, type TurnProcess } from './fault-helpers.js';

const SECRET = 'relay-restart-rest-secret';
const TIMEOUT_MS = 30_000;

interface EventRecord {
  event: string;
  at: number;
  payload: unknown;
}

interface CallStatus {
  sent: number;
  echoed: number;
  channel: string;
  events: { a: EventRecord[]; b: EventRecord[] };
  ice: { pc1: string[]; pc2: string[] };
}

interface CallResult extends CallStatus {
  inOrder: boolean;
  selected: { pc1?: { candidateType?: string; relayProtocol?: string } };
  log: string[];
}

let cert: TestCertificate | undefined;
let browser: ChromiumHandle | undefined;
let pageServer: PageServer | undefined;
let page: Page | undefined;
let relay: TurnProcess | undefined;
/** The output of the relay processes already killed. */
let earlierOutput = '';
let udpPort = 0;
let tlsPort = 0;
let issued = 0;

/** Starts `cloudproxy turn` on the fixed ports of this file and waits for a Binding answer. */
async function startRelay(): Promise<void> {
  const args = [
    ...['turn', '--listening-ip', '127.0.0.1', '--listening-port', String(udpPort)],
    ...['--tls-listening-port', String(tlsPort), '--cert', cert!.certFile, '--pkey', cert!.keyFile],
    ...['--relay-ip', '127.0.0.1', '--realm', 'restart.test', '--allow-loopback-peers'],
    ...['--use-auth-secret', '--static-auth-secret', SECRET],
  ];
  relay = await startTurnProcess(args, udpPort);
}

/** SIGKILL: the process ends at once, without draining. */
async function killRelay(): Promise<void> {
  if (!relay) return;
  await relay.kill();
  earlierOutput += relay.output();
  relay = undefined;
}

function issueCredentials(request: { mode: string; uid: string }): unknown {
  issued++;
  const { username, password } = restCredentials(SECRET, `restart-${request.uid}`, 600);
  return {
    iceServers: [
      {
        urls: [
          `turn:127.0.0.1:${udpPort}?transport=udp`,
          `turns:127.0.0.1:${tlsPort}?transport=tcp`,
        ],
        username,
        credential: password,
      },
    ],
    expiresAt: Number(username.split(':')[0]) * 1000,
  };
}

beforeAll(async () => {
  buildSdkBundle();
  cert = makeSelfSignedCert();
  const ports = await freePorts(2);
  udpPort = ports[0]!;
  tlsPort = ports[1]!;
  await startRelay();
  pageServer = await serveSdkPage(
    readFileSync(path.join(import.meta.dirname, 'relay-restart-page.html'), 'utf8'),
  );
  browser = await launchChromium({ trustSpki: [cert.spkiSha256] });
  page = await browser.context.newPage();
  await page.exposeFunction('issueCredentials', issueCredentials);
  await page.goto(pageServer.url, { timeout: 15_000 });
  await page.waitForFunction('window.pageReady === true', undefined, { timeout: 15_000 });
});

afterAll(async () => {
  await browser?.close();
  await pageServer?.close();
  await killRelay();
  cert?.cleanup();
});

function eventsNamed(status: CallStatus, side: 'a' | 'b', name: string): EventRecord[] {
  return status.events[side].filter((e) => e.event === name);
}

async function callThroughRestart(mode: string, transport: string): Promise<void> {
  const p = page!;
  const cfg = {
    mode,
    intervalMs: 50,
    timeoutMs: TIMEOUT_MS,
    reconnect: { disconnectedTimeoutMs: 2000, attemptTimeoutMs: 8000 },
  };
  const started = await p.evaluate<{ ok: boolean; selected?: { relayProtocol?: string } }>(
    `startCall(${JSON.stringify(cfg)})`,
  );
  expect(started, JSON.stringify(started)).toMatchObject({
    ok: true,
    selected: { candidateType: 'relay', relayProtocol: transport },
  });
  const issuedBefore = issued;
  await sleep(500);
  await killRelay();
  await sleep(1500);
  await startRelay();
  const status = (): Promise<CallStatus> => p.evaluate<CallStatus>('callStatus()');
  const back = await waitFor(async () => {
    const s = await status();
    return (
      eventsNamed(s, 'a', 'reconnected').length > 0 && eventsNamed(s, 'b', 'reconnected').length > 0
    );
  }, 60_000);
  const mid = await status();
  const why = (extra: unknown): string =>
    `${JSON.stringify(extra, null, 2)}\n--- relay ---\n${(earlierOutput + (relay?.output() ?? '')).slice(-3000)}`;
  expect(back, why(mid)).toBe(true);
  // Traffic flows again on the new allocations before the call ends.
  const sentAfter = mid.sent;
  expect(await waitFor(async () => (await status()).echoed > sentAfter, 10_000)).toBe(true);
  const result = await p.evaluate<CallResult>('endCall()');
  expect(result.echoed, why(result)).toBe(result.sent);
  expect(result.inOrder, why(result)).toBe(true);
  expect(result.channel, why(result)).toBe('open');
  expect(result.selected.pc1, why(result)).toMatchObject({
    candidateType: 'relay',
    relayProtocol: transport,
  });
  for (const side of ['a', 'b'] as const) {
    expect(eventsNamed(result, side, 'reconnecting').length, why(result)).toBeGreaterThan(0);
    expect(eventsNamed(result, side, 'reconnected').length, why(result)).toBeGreaterThan(0);
    expect(eventsNamed(result, side, 'error'), why(result)).toEqual([]);
  }
  // Every attempt fetched fresh credentials.
  expect(issued - issuedBefore, why(result)).toBeGreaterThanOrEqual(2);
}

describe('relay killed (SIGKILL) and restarted on the same ports during an SDK call', () => {
  it('force-udp: the SDK restarts ICE with fresh credentials and the call loses no message', async () => {
    await callThroughRestart('force-udp', 'udp');
  });

  it('force-tcp (TURN over TLS): the same recovery over a new TLS connection', async () => {
    await callThroughRestart('force-tcp', 'tls');
  });
});
