/**
 * Real Chromium through the TURN server under test: two RTCPeerConnections in one page,
 * `iceTransportPolicy: 'relay'`, only our server in iceServers, for TURN over UDP, TCP and TLS,
 * with long-term and REST credentials. A data channel must open and carry messages both ways,
 * and getStats() must show a selected (succeeded + nominated) pair of two relay candidates with
 * the expected relayProtocol.
 *
 * Chromium gathers on a non-loopback interface (its sockets bind to eth0 even to reach
 * 127.0.0.1); the server listens on 127.0.0.1, relays on 127.0.0.1 and allows loopback peers.
 * See test/helpers/turn-server.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert, type TestCertificate } from '../helpers/certs.js';
import {
  launchChromium,
  servePage,
  type ChromiumHandle,
  type PageServer,
} from '../helpers/chromium.js';
import { restCredentials } from '../helpers/credentials.js';
import {
  startTurnServer,
  supportsCombinedAuth,
  turnImpl,
  type TurnServerHandle,
} from '../helpers/turn-server.js';

const USER = { name: 'browser', password: 'chromium-relay-9' };
const SECRET = 'browser-rest-secret';
const CALL_TIMEOUT_MS = 30_000;
const BURST = 50;
const SIZE = 1000;

interface CandidateStats {
  candidateType?: string;
  relayProtocol?: string;
  protocol?: string;
  address?: string;
  port?: number;
  url?: string;
}

interface SelectedPair {
  selectedByTransport?: boolean;
  pair?: { state: string; nominated: boolean; bytesSent?: number; bytesReceived?: number };
  local?: CandidateStats;
  remote?: CandidateStats;
}

interface RelayCallResult {
  ok: boolean;
  error?: string;
  received?: { pc1: number; pc2: number };
  intact?: { pc1: boolean; pc2: boolean };
  stats?: { pc1: SelectedPair; pc2: SelectedPair };
  states?: unknown;
  candidateErrors: { pc: string; url: string; errorCode: number; errorText: string }[];
  gathered: { pc1: string[]; pc2: string[] };
  log: string[];
}

interface IceServer {
  urls: string;
  username: string;
  credential: string;
}

type Transport = 'udp' | 'tcp' | 'tls';
type CredentialKind = 'long-term' | 'REST';

let cert: TestCertificate | undefined;
let ltServer: TurnServerHandle | undefined;
let restServer: TurnServerHandle | undefined;
let browser: ChromiumHandle | undefined;
let pageServer: PageServer | undefined;
let page: Page | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  cert = makeSelfSignedCert();
  cleanups.push(() => cert?.cleanup());
  const tls = { certFile: cert.certFile, keyFile: cert.keyFile };
  if (supportsCombinedAuth()) {
    ltServer = await startTurnServer({ users: [USER], authSecret: SECRET, tls });
    cleanups.push(() => ltServer?.stop());
    restServer = ltServer;
  } else {
    // coturn cannot serve static users and a REST secret from one process: two instances.
    ltServer = await startTurnServer({ users: [USER], tls });
    cleanups.push(() => ltServer?.stop());
    restServer = await startTurnServer({ authSecret: SECRET, tls });
    cleanups.push(() => restServer?.stop());
  }
  const html = readFileSync(path.join(import.meta.dirname, 'relay-page.html'), 'utf8');
  pageServer = await servePage(html);
  cleanups.push(() => pageServer?.close());
  browser = await launchChromium({ trustSpki: [cert.spkiSha256] });
  cleanups.push(() => browser?.close());
  page = await browser.context.newPage();
  await page.goto(pageServer.url, { timeout: 15_000 });
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

function iceServer(transport: Transport, kind: CredentialKind): IceServer {
  const server = kind === 'REST' ? restServer : ltServer;
  if (!server) throw new Error('server not started');
  const urls =
    transport === 'tls'
      ? `turns:127.0.0.1:${server.tlsPort}?transport=tcp`
      : `turn:127.0.0.1:${server.udpPort}?transport=${transport}`;
  if (kind === 'REST') {
    const { username, password } = restCredentials(SECRET, `chromium-${transport}`, 600);
    return { urls, username, credential: password };
  }
  return { urls, username: USER.name, credential: USER.password };
}

async function relayCall(ice: IceServer): Promise<RelayCallResult> {
  if (!page) throw new Error('page not loaded');
  const cfg = {
    iceServers: [ice],
    timeoutMs: CALL_TIMEOUT_MS,
    burst: BURST,
    size: SIZE,
    settleMs: 5000,
  };
  // A string expression: nothing from the Node side (or a transpiler) is serialized.
  return await page.evaluate<RelayCallResult>(`relayCall(${JSON.stringify(cfg)})`);
}

function expectRelayPair(
  side: SelectedPair | undefined,
  transport: Transport,
  port: number,
  why: string,
): void {
  expect(side?.pair, why).toBeDefined();
  expect(side!.pair!.state, why).toBe('succeeded');
  expect(side!.pair!.nominated, why).toBe(true);
  expect(side!.local?.candidateType, why).toBe('relay');
  expect(side!.remote?.candidateType, why).toBe('relay');
  expect(side!.local?.relayProtocol, why).toBe(transport);
  // The relayed address is the server's relay address on loopback.
  expect(side!.local?.address, why).toBe('127.0.0.1');
  expect(side!.remote?.address, why).toBe('127.0.0.1');
  if (side!.local?.url !== undefined) expect(side!.local.url, why).toContain(`:${port}`);
}

const cases: [Transport, CredentialKind][] = [
  ['udp', 'long-term'],
  ['tcp', 'long-term'],
  ['tls', 'long-term'],
  ['udp', 'REST'],
  ['tcp', 'REST'],
  ['tls', 'REST'],
];

describe(`Chromium relay-only calls through ${turnImpl()}`, () => {
  it.each(cases)('TURN over %s with %s credentials', async (transport, kind) => {
    const ice = iceServer(transport, kind);
    const server = kind === 'REST' ? restServer! : ltServer!;
    const result = await relayCall(ice);
    const why = `${ice.urls}\n${JSON.stringify(result, null, 2)}\n--- ${server.impl} output (tail) ---\n${server.output().slice(-3000)}`;
    expect(result.ok, why).toBe(true);
    expect(result.received, why).toEqual({ pc1: BURST, pc2: BURST });
    expect(result.intact, why).toEqual({ pc1: true, pc2: true });
    const port = transport === 'tls' ? server.tlsPort : server.udpPort;
    expectRelayPair(result.stats?.pc1, transport, port, why);
    expectRelayPair(result.stats?.pc2, transport, port, why);
    // Both ends see the same path: each side's remote candidate is the other's relay address.
    expect(result.stats!.pc1.remote!.port, why).toBe(result.stats!.pc2.local!.port);
    expect(result.stats!.pc2.remote!.port, why).toBe(result.stats!.pc1.local!.port);
    // Only relay candidates were gathered.
    for (const line of [...result.gathered.pc1, ...result.gathered.pc2]) {
      expect(line, why).toMatch(/ typ relay /);
    }
  });
});
