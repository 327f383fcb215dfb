/**
 * coturn's own client tools as clients of the TURN server under test (TURN_IMPL, default ours):
 * turnutils_stunclient (Binding), turnutils_uclient over UDP, TCP and TLS with ChannelData and
 * Send indications, several clients at once, long-term and REST credentials, and refusals.
 *
 * Loss: over TCP and TLS every message must arrive. Over UDP on loopback at these low rates
 * (≤ 250 messages/s per run) nothing should be lost either; one stray datagram is tolerated
 * because this 2-core machine is shared and a socket buffer can overflow under CPU contention,
 * while a systematic fault (say, the first message of each session dropped) loses ≥ 5 and fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert, type TestCertificate } from '../helpers/certs.js';
import {
  describeRun,
  runStunclient,
  runUclient,
  startEchoPeer,
  type EchoPeer,
  type UclientOptions,
  type UclientResult,
} from '../helpers/coturn-tools.js';
import { restCredentials } from '../helpers/credentials.js';
import {
  StunAttr,
  StunClass,
  StunMethod,
  bindingRequest,
  decodeXorAddress,
  encodeStun,
  errorCode,
  getAttr,
  longTermKey,
  requestedTransportUdp,
  udpTransaction,
  UdpStunClient,
  type StunMessage,
} from '../helpers/stun.js';
import {
  startTurnServer,
  supportsCombinedAuth,
  turnImpl,
  type TurnServerHandle,
} from '../helpers/turn-server.js';

const USER = { name: 'alice', password: 'wonderland-7' };
const SECRET = 'north-rest-secret';
const MESSAGES = 50;
const CLIENTS = 5;
const LENGTH = 100;

let cert: TestCertificate | undefined;
let ltServer: TurnServerHandle | undefined;
let restServer: TurnServerHandle | undefined;
let peer: EchoPeer | undefined;
const stopAll: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  cert = makeSelfSignedCert();
  stopAll.push(() => cert?.cleanup());
  peer = await startEchoPeer();
  stopAll.push(() => peer?.stop());
  const tls = { certFile: cert.certFile, keyFile: cert.keyFile };
  if (supportsCombinedAuth()) {
    // One process serves the static user and the REST secret (coturn cannot: see below).
    ltServer = await startTurnServer({ users: [USER], authSecret: SECRET, tls });
    stopAll.push(() => ltServer?.stop());
    restServer = ltServer;
  } else {
    // coturn cannot serve static users and a REST secret from one process: two instances.
    ltServer = await startTurnServer({ users: [USER], tls });
    stopAll.push(() => ltServer?.stop());
    restServer = await startTurnServer({ authSecret: SECRET });
    stopAll.push(() => restServer?.stop());
  }
});

afterAll(async () => {
  const errors: unknown[] = [];
  for (const stop of stopAll.reverse()) {
    try {
      await stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
});

function lt(): TurnServerHandle {
  if (!ltServer) throw new Error('server not started');
  return ltServer;
}

function rest(): TurnServerHandle {
  if (!restServer) throw new Error('REST server not started');
  return restServer;
}

function echoPeer(): { host: string; port: number } {
  if (!peer) throw new Error('echo peer not started');
  return { host: peer.host, port: peer.port };
}

function context(result: UclientResult, server: TurnServerHandle): string {
  return `${describeRun(result)}\n--- ${server.impl} server output (tail) ---\n${server
    .output()
    .slice(-3000)}`;
}

/** Runs uclient and checks the relayed traffic: exit 0, everything sent, (near) nothing lost. */
async function expectRelayed(
  server: TurnServerHandle,
  opts: Omit<UclientOptions, 'host' | 'port'>,
): Promise<UclientResult> {
  const port = opts.transport === 'tls' ? server.tlsPort : server.udpPort;
  const result = await runUclient({ host: server.host, port, ...opts });
  const why = context(result, server);
  expect(result.code, why).toBe(0);
  expect(result.summary, why).toBeDefined();
  const summary = result.summary!;
  const sessions = (opts.clients ?? 1) + (opts.clientToClient && (opts.clients ?? 1) % 2 ? 1 : 0);
  expect(summary.sent, why).toBe(sessions * (opts.messages ?? 10));
  expect(summary.sendDropped, why).toBe(0);
  const tolerated = opts.transport === 'udp' ? 1 : 0;
  expect(summary.lost, why).toBeLessThanOrEqual(tolerated);
  expect(summary.received, why).toBeGreaterThanOrEqual(summary.sent - tolerated);
  expect(summary.receivedBytes, why).toBe(summary.received * (opts.length ?? 100));
  // Millisecond resolution: loopback round trips are mostly 0 ms; anything above 100 ms is wrong.
  expect(summary.rttAvgMs, why).toBeLessThan(100);
  return result;
}

describe(`coturn client tools against ${turnImpl()}`, () => {
  it('turnutils_stunclient gets its mapped address from a Binding request', async () => {
    const server = lt();
    const result = await runStunclient(server.host, server.udpPort);
    expect(result.code, result.output).toBe(0);
    expect(result.mapped, result.output).toBeDefined();
    expect(result.mapped!.address).toBe('127.0.0.1');
    expect(result.mapped!.port).toBeGreaterThan(0);

    // The same through the harness's own codec: XOR-MAPPED-ADDRESS is our socket's address.
    const { message, from } = await udpTransaction(server.host, server.udpPort, bindingRequest());
    expect(message.cls).toBe(StunClass.Success);
    expect(from.port).toBe(server.udpPort);
    const xma = getAttr(message, StunAttr.XorMappedAddress);
    expect(xma).toBeDefined();
    expect(decodeXorAddress(xma!, message.transactionId).address).toBe('127.0.0.1');
  });

  describe.concurrent('turnutils_uclient relays', () => {
    it('UDP, ChannelData, 5 clients to an echo peer', async () => {
      await expectRelayed(lt(), {
        transport: 'udp',
        peer: echoPeer(),
        clients: CLIENTS,
        messages: MESSAGES,
        length: LENGTH,
        user: USER,
      });
    });

    it('UDP, Send/Data indications, 5 clients to an echo peer', async () => {
      await expectRelayed(lt(), {
        transport: 'udp',
        sendIndications: true,
        peer: echoPeer(),
        clients: CLIENTS,
        messages: MESSAGES,
        length: LENGTH,
        user: USER,
      });
    });

    it('UDP, ChannelData, 4 clients to each other through their relays (-y), 1200 bytes', async () => {
      await expectRelayed(lt(), {
        transport: 'udp',
        clientToClient: true,
        clients: 4,
        messages: MESSAGES,
        length: 1200,
        user: USER,
      });
    });

    it('TCP, ChannelData, 5 clients to an echo peer', async () => {
      await expectRelayed(lt(), {
        transport: 'tcp',
        peer: echoPeer(),
        clients: CLIENTS,
        messages: MESSAGES,
        length: LENGTH,
        user: USER,
      });
    });

    it('TCP, Send/Data indications, 4 clients to each other (-y)', async () => {
      await expectRelayed(lt(), {
        transport: 'tcp',
        sendIndications: true,
        clientToClient: true,
        clients: 4,
        messages: MESSAGES,
        length: LENGTH,
        user: USER,
      });
    });

    it('TLS, ChannelData, 5 clients to an echo peer', async () => {
      await expectRelayed(lt(), {
        transport: 'tls',
        peer: echoPeer(),
        clients: CLIENTS,
        messages: MESSAGES,
        length: LENGTH,
        user: USER,
      });
    });

    it('TLS, Send/Data indications, 2 clients to an echo peer', async () => {
      await expectRelayed(lt(), {
        transport: 'tls',
        sendIndications: true,
        peer: echoPeer(),
        clients: 2,
        messages: MESSAGES,
        length: LENGTH,
        user: USER,
      });
    });

    it('UDP with REST credentials (-W secret), 5 clients to an echo peer', async () => {
      await expectRelayed(rest(), {
        transport: 'udp',
        peer: echoPeer(),
        clients: CLIENTS,
        messages: MESSAGES,
        length: LENGTH,
        restSecret: { secret: SECRET, name: 'rest-user' },
      });
    });

    it('TCP with REST credentials (-W secret), 2 clients to an echo peer', async () => {
      await expectRelayed(rest(), {
        transport: 'tcp',
        peer: echoPeer(),
        clients: 2,
        messages: MESSAGES,
        length: LENGTH,
        restSecret: { secret: SECRET, name: 'rest-user' },
      });
    });

    it('refuses a wrong password: uclient cannot allocate and exits non-zero', async () => {
      const server = lt();
      const result = await runUclient({
        host: server.host,
        port: server.udpPort,
        transport: 'udp',
        peer: echoPeer(),
        messages: 5,
        user: { name: USER.name, password: 'not-the-password' },
        timeoutMs: 30_000,
      });
      const why = context(result, server);
      expect(result.timedOut, why).toBe(false);
      expect(result.code, why).not.toBe(0);
      expect(result.output, why).toMatch(/Cannot complete Allocation/);
      expect(result.summary, why).toBeUndefined();
    });

    it('refuses a wrong REST secret', async () => {
      const server = rest();
      const result = await runUclient({
        host: server.host,
        port: server.udpPort,
        transport: 'udp',
        peer: echoPeer(),
        messages: 5,
        restSecret: { secret: 'not-the-secret', name: 'rest-user' },
        timeoutMs: 30_000,
      });
      const why = context(result, server);
      expect(result.code, why).not.toBe(0);
      expect(result.output, why).toMatch(/Cannot complete Allocation/);
    });
  });
});

/** An Allocate over UDP, optionally authenticated (USERNAME, REALM, NONCE, MESSAGE-INTEGRITY). */
async function allocate(
  client: UdpStunClient,
  auth?: { username: string; password: string; realm: string; nonce: Buffer },
): Promise<StunMessage> {
  const attributes = [requestedTransportUdp()];
  let key: Buffer | undefined;
  if (auth) {
    attributes.push(
      { type: StunAttr.Username, value: Buffer.from(auth.username) },
      { type: StunAttr.Realm, value: Buffer.from(auth.realm) },
      { type: StunAttr.Nonce, value: auth.nonce },
    );
    key = longTermKey(auth.username, auth.realm, auth.password);
  }
  const request = encodeStun(
    { method: StunMethod.Allocate, cls: StunClass.Request, attributes },
    key,
  );
  return (await client.request(request)).message;
}

/** The 401 challenge's realm and nonce. */
async function challenge(client: UdpStunClient): Promise<{ realm: string; nonce: Buffer }> {
  const answer = await allocate(client);
  expect(answer.cls).toBe(StunClass.Error);
  expect(errorCode(answer)).toBe(401);
  const realm = getAttr(answer, StunAttr.Realm);
  const nonce = getAttr(answer, StunAttr.Nonce);
  expect(realm).toBeDefined();
  expect(nonce).toBeDefined();
  return { realm: realm!.toString('utf8'), nonce: Buffer.from(nonce!) };
}

/** Runs `fn` with a UDP STUN client (one socket, so one 5-tuple: nonces are tied to it). */
async function withClient<T>(
  server: TurnServerHandle,
  fn: (client: UdpStunClient) => Promise<T>,
): Promise<T> {
  const client = new UdpStunClient(server.host, server.udpPort);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

describe(`long-term and REST authentication on the wire (${turnImpl()})`, () => {
  it('challenges an unauthenticated Allocate with 401, REALM and NONCE', async () => {
    const { realm } = await withClient(lt(), challenge);
    expect(realm).toBe(lt().realm);
  });

  it('answers 401 to a wrong password and success to the right one', async () => {
    await withClient(lt(), async (client) => {
      const { realm, nonce } = await challenge(client);
      const wrong = await allocate(client, { username: USER.name, password: 'no', realm, nonce });
      expect(wrong.cls).toBe(StunClass.Error);
      expect(errorCode(wrong)).toBe(401);
      const right = await allocate(client, { ...USER, username: USER.name, realm, nonce });
      expect(right.cls, `error ${errorCode(right)}`).toBe(StunClass.Success);
      const relayed = getAttr(right, StunAttr.XorRelayedAddress);
      expect(relayed).toBeDefined();
      expect(decodeXorAddress(relayed!, right.transactionId).address).toBe('127.0.0.1');
    });
  });

  it('accepts REST credentials made by the harness', async () => {
    await withClient(rest(), async (client) => {
      const { realm, nonce } = await challenge(client);
      const valid = restCredentials(SECRET, 'harness-user', 600);
      const ok = await allocate(client, { ...valid, realm, nonce });
      expect(ok.cls, `error ${errorCode(ok)}`).toBe(StunClass.Success);
    });
  });

  it('refuses expired REST credentials with 401', async () => {
    await withClient(rest(), async (client) => {
      const { realm, nonce } = await challenge(client);
      const expired = restCredentials(SECRET, 'harness-user', -600);
      const refused = await allocate(client, { ...expired, realm, nonce });
      expect(refused.cls).toBe(StunClass.Error);
      expect(errorCode(refused)).toBe(401);
    });
  });
});
