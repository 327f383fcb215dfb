import dgram from 'node:dgram';
import { once } from 'node:events';
import {
  AddressFamily,
  MessageClass,
  Method,
  attr,
  lifetime,
  requestedAddressFamily,
} from '@cloudproxy/stun';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../../test/helpers/certs.js';
import type { TestCertificate } from '../../../test/helpers/certs.js';
import { TurnServer } from '../src/node/turn-server.js';
import { TestTurnClient } from './turn-client.js';

let cert: TestCertificate;
let server: TurnServer;
let peer: dgram.Socket;
const ports = { udp: 0, tcp: 0, tls: 0 };

beforeAll(async () => {
  cert = makeSelfSignedCert();
  server = new TurnServer({
    realm: 'example.org',
    auth: { users: { alice: 'wonderland' } },
    listeningIps: ['127.0.0.1'],
    listeningPort: 0,
    tlsListeningPort: 0,
    certFile: cert.certFile,
    keyFile: cert.keyFile,
    peerPolicy: { allowLoopbackPeers: true },
    minPort: 40000,
    maxPort: 60000,
  });
  for (const a of await server.listen()) ports[a.transport] = a.port;
  peer = dgram.createSocket('udp4');
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  // The peer echoes every datagram back to its sender.
  peer.on('message', (msg, rinfo) => peer.send(msg, rinfo.port, rinfo.address));
});

afterAll(async () => {
  await server.close();
  peer.close();
  cert.cleanup();
});

describe.each(['udp', 'tcp', 'tls'] as const)('TurnServer over %s on loopback', (transport) => {
  it('allocates, binds a channel and relays ChannelData both ways through a real peer', async () => {
    const client = await TestTurnClient.connect(transport, ports[transport]);
    try {
      const relayed = await client.allocate();
      expect(relayed.address).toBe('127.0.0.1');
      expect(relayed.port).toBeGreaterThanOrEqual(40000);
      const peerAddress = { family: 4 as const, address: '127.0.0.1', port: peer.address().port };
      expect((await client.channelBind(0x4000, peerAddress)).messageClass).toBe(
        MessageClass.SuccessResponse,
      );
      for (const size of [1, 100, 1200]) {
        const payload = new Uint8Array(size).fill(size & 0xff);
        client.sendChannelData(0x4000, payload, transport !== 'udp');
        const back = await client.nextChannelData();
        expect(back.channel).toBe(0x4000);
        expect(back.data).toEqual(payload);
      }
      const refresh = await client.request(Method.Refresh, [attr(lifetime, 0)]);
      expect(refresh.get(lifetime)).toBe(0);
    } finally {
      client.close();
    }
  });
});

describe('TurnServer behind NAT', () => {
  it('advertises the external IP of its relay (--external-ip) in XOR-RELAYED-ADDRESS', async () => {
    const natted = new TurnServer({
      auth: { users: { alice: 'wonderland' } },
      listeningIps: ['127.0.0.1'],
      listeningPort: 0,
      noTls: true,
      relayAddresses: [{ relayIp: '127.0.0.1', externalIp: '203.0.113.7' }],
    });
    await natted.listen();
    const udpPort = natted.addresses.find((a) => a.transport === 'udp')!.port;
    const client = await TestTurnClient.connect('udp', udpPort);
    try {
      expect(await client.allocate()).toMatchObject({ family: 4, address: '203.0.113.7' });
    } finally {
      client.close();
      await natted.close();
    }
  });
});

describe('TurnServer on IPv6', () => {
  it('serves a client on ::1 with an IPv6 relay (REQUESTED-ADDRESS-FAMILY) and relays to an IPv6 peer', async () => {
    const v6 = new TurnServer({
      auth: { users: { alice: 'wonderland' } },
      listeningIps: ['::1'],
      listeningPort: 0,
      noTls: true,
      peerPolicy: { allowLoopbackPeers: true },
    });
    await v6.listen();
    const udpPort = v6.addresses.find((a) => a.transport === 'udp')!.port;
    const peer6 = dgram.createSocket('udp6');
    peer6.on('message', (msg, rinfo) => peer6.send(msg, rinfo.port, rinfo.address));
    peer6.bind(0, '::1');
    await once(peer6, 'listening');
    const client = await TestTurnClient.connect('udp', udpPort, undefined, '::1');
    try {
      const relayed = await client.allocate([attr(requestedAddressFamily, AddressFamily.IPv6)]);
      expect(relayed).toMatchObject({ family: 6, address: '::1' });
      const bound = await client.channelBind(0x4000, {
        family: 6,
        address: '::1',
        port: peer6.address().port,
      });
      expect(bound.messageClass).toBe(MessageClass.SuccessResponse);
      client.sendChannelData(0x4000, new Uint8Array([6]), false);
      expect((await client.nextChannelData()).data).toEqual(new Uint8Array([6]));
    } finally {
      client.close();
      peer6.close();
      await v6.close();
    }
  });
});

describe('TurnServer lifecycle', () => {
  it('selects ALPN stun.turn on TLS when the client offers it', async () => {
    const client = await TestTurnClient.connect('tls', ports.tls);
    expect(client.alpnProtocol).toBe('stun.turn');
    client.close();
  });

  it('reports its listeners and counts relayed packets per transport', () => {
    expect(server.addresses.map((a) => a.transport).sort()).toEqual(['tcp', 'tls', 'udp']);
    expect(server.core.stats.packetsToPeer.every((n) => n >= 3)).toBe(true);
  });

  it('ends a TCP allocation when the client disconnects', async () => {
    const client = await TestTurnClient.connect('tcp', ports.tcp);
    await client.allocate();
    const before = server.core.allocationCount;
    client.close();
    for (let i = 0; i < 100 && server.core.allocationCount >= before; i++)
      await new Promise((r) => setImmediate(r));
    expect(server.core.allocationCount).toBe(before - 1);
  });
});
