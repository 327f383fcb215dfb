/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- the tests probe the API's JSON answers */
/**
 * The control plane with the real TURN relay (`TurnServer` from @cloudproxy/turn/node) on
 * loopback: credentials from the API authenticate over UDP, Allocates beyond a channel's
 * proxy-user limit get 486 while other channels succeed, a revocation ends a live allocation
 * (its Refresh then gets 437), and usage equals the bytes relayed in a call.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import {
  Method,
  MessageClass,
  attr,
  errorCode,
  lifetime,
  requestedTransport,
} from '@cloudproxy/stun';
import { TurnServer } from '@cloudproxy/turn/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestTurnClient } from '../../turn/test/turn-client.js';
import { ADMIN, NODE, startHarness, storeFixture } from './harness.js';
import type { Harness, StoreFixture } from './harness.js';

let turn: TurnServer;
let udpPort = 0;
let h: Harness;
let fixture: StoreFixture;
let peer: dgram.Socket;
let appId = '';
let key = '';
const clients: TestTurnClient[] = [];

beforeAll(async () => {
  turn = new TurnServer({
    realm: 'cloudproxy',
    auth: { staticAuthSecrets: ['the-relay-own-secret'] },
    listeningIps: ['127.0.0.1'],
    listeningPort: 0,
    noTcp: true,
    noTls: true,
    peerPolicy: { allowLoopbackPeers: true },
    minPort: 40000,
    maxPort: 60000,
  });
  for (const a of await turn.listen()) if (a.transport === 'udp') udpPort = a.port;
  fixture = storeFixture('sqlite');
  h = await startHarness({
    store: await fixture.fresh(),
    relay: turn,
    node: { ...NODE, publicHost: '127.0.0.1', relayAddresses: ['127.0.0.1'], udpPort },
  });
  const app = await h.call('POST', '/api/v1/apps', { token: ADMIN, body: { name: 'e2e' } });
  appId = app.json.appId;
  key = (await h.call('POST', `/api/v1/apps/${appId}/keys`, { token: ADMIN, body: {} })).json.key;
  await h.call('PUT', `/api/v1/apps/${appId}/reservations/${NODE.region}`, {
    token: ADMIN,
    body: {
      maxChannels: 10,
      maxUsersPerChannel: 10,
      maxProxyUsersPerChannel: 2,
      videoQuality: '1080p',
      mode: 'auto',
    },
  });
  peer = dgram.createSocket('udp4');
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  peer.on('message', (msg, rinfo) => peer.send(msg, rinfo.port, rinfo.address));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await turn.close();
  await h.close();
  await fixture.cleanup();
  peer.close();
});

/** A UDP client holding credentials from the API for (channel, uid). */
async function client(channel: string, uid: string): Promise<TestTurnClient> {
  const answer = await h.call('POST', `/api/v1/apps/${appId}/credentials`, {
    token: key,
    body: { channel, uid, mode: 'force-udp' },
  });
  expect(answer.status, answer.text).toBe(200);
  const server = answer.json.iceServers[0];
  expect(server.urls).toEqual([`turn:127.0.0.1:${udpPort}?transport=udp`]);
  const c = await TestTurnClient.connect('udp', udpPort, {
    user: server.username,
    pass: server.credential,
  });
  clients.push(c);
  return c;
}

async function allocateCode(c: TestTurnClient): Promise<number> {
  const response = await c.request(Method.Allocate, [attr(requestedTransport, 17)]);
  return response.messageClass === MessageClass.SuccessResponse
    ? 200
    : (response.get(errorCode)?.code ?? 0);
}

describe('control plane with the TURN relay', () => {
  it('refuses Allocates beyond maxProxyUsersPerChannel with 486 while other channels succeed', async () => {
    expect(await allocateCode(await client('room', 'a'))).toBe(200);
    expect(await allocateCode(await client('room', 'b'))).toBe(200);
    expect(await allocateCode(await client('room', 'a'))).toBe(200);
    expect(await allocateCode(await client('room', 'c'))).toBe(486);
    expect(await allocateCode(await client('lobby', 'c'))).toBe(200);
    const live = await h.call('GET', `/api/v1/allocations?appId=${appId}&channel=room`, {
      token: key,
    });
    expect(live.json.allocations.map((x: { uid: string }) => x.uid).sort()).toEqual([
      'a',
      'a',
      'b',
    ]);
  });

  it('ends a live allocation on revocation: its Refresh then gets 437', async () => {
    const c = await client('revoked-room', 'mallory');
    expect(await allocateCode(c)).toBe(200);
    const revoked = await h.call('POST', `/api/v1/apps/${appId}/revocations`, {
      token: key,
      body: { channel: 'revoked-room', uid: 'mallory', durationS: 60 },
    });
    expect(revoked.json.endedAllocations).toBe(1);
    const refresh = await c.request(Method.Refresh, [attr(lifetime, 600)]);
    expect(refresh.get(errorCode)?.code).toBe(437);
    const retry = await TestTurnClient.connect('udp', udpPort, { user: c.user, pass: c.pass });
    clients.push(retry);
    expect(await allocateCode(retry)).toBe(403);
  });

  it('meters usage equal to the bytes relayed in a call (within 1%)', async () => {
    const c = await client('call', 'caller');
    await c.allocate();
    const peerAddress = { family: 4 as const, address: '127.0.0.1', port: peer.address().port };
    expect((await c.channelBind(0x4000, peerAddress)).messageClass).toBe(
      MessageClass.SuccessResponse,
    );
    const sizeBytes = 1000;
    const packets = 200;
    let echoed = 0;
    for (let i = 0; i < packets; i++) {
      c.sendChannelData(0x4000, new Uint8Array(sizeBytes).fill(i & 0xff), false);
      if (i % 20 === 19) for (; echoed < i + 1; echoed++) await c.nextChannelData(5000);
    }
    await h.cp.flushUsage();
    const end = await c.request(Method.Refresh, [attr(lifetime, 0)]);
    expect(end.messageClass).toBe(MessageClass.SuccessResponse);
    const [row] = (await h.call('GET', `/api/v1/apps/${appId}/usage?channel=call`, { token: key }))
      .json.usage;
    const sent = sizeBytes * packets;
    expect(Math.abs(row.bytesIn.udp - sent) / sent).toBeLessThan(0.01);
    expect(Math.abs(row.bytesOut.udp - sent) / sent).toBeLessThan(0.01);
    expect(row).toMatchObject({ allocations: 1, peakProxyUsers: 1 });
    const chart = await h.call('GET', `/api/v1/stats/bandwidth?appId=${appId}&minutes=1`, {
      token: key,
    });
    const charted = chart.json.samples.reduce(
      (n: number, s: { bytesIn: number }) => n + s.bytesIn,
      0,
    );
    expect(charted).toBe(row.bytesIn.udp);
  });
});
