/**
 * TURN over TCP and TLS on both data planes: on the native plane the addon takes each TCP
 * connection over once its first bytes pass the checks, and each TLS connection before its
 * handshake (native-streams.ts), and every rule the JavaScript path keeps must hold there too:
 * padding both ways, Send/Data, the connection limit, the idle timeout, revocation, bad framing
 * after the handover, byte counts per transport, and over TLS the answer to an HTTP request and
 * a client that does not speak TLS.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { loadDataPlane } from '@cloudproxy/dataplane';
import {
  MessageClass,
  Method,
  attr,
  data as dataAttr,
  encodeMessage,
  newTransactionId,
  xorPeerAddress,
} from '@cloudproxy/stun';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../../test/helpers/certs.js';
import type { TestCertificate } from '../../../test/helpers/certs.js';
import { TurnServer } from '../src/node/turn-server.js';
import { TestTurnClient } from './turn-client.js';

const PLANES: ('js' | 'native')[] = ['js', ...(loadDataPlane() ? (['native'] as const) : [])];
const CASES = PLANES.flatMap((plane) =>
  (['tcp', 'tls'] as const).map((transport) => ({ plane, transport })),
);
const TRANSPORT_INDEX = { tcp: 1, tls: 2 } as const;

/** A Binding request: valid first bytes for a TURN stream, needing no credentials. */
function bindingRequest(): Uint8Array {
  const request = {
    method: Method.Binding,
    messageClass: MessageClass.Request,
    transactionId: newTransactionId(),
    attributes: [],
  };
  return encodeMessage(request, nodeStunCrypto);
}

describe.each(CASES)('TURN over $transport on the $plane data plane', ({ plane, transport }) => {
  let server: TurnServer;
  let port = 0;
  let cert: TestCertificate;
  let peer: dgram.Socket;
  const open: net.Socket[] = [];
  const clients: TestTurnClient[] = [];

  beforeAll(async () => {
    cert = makeSelfSignedCert();
    server = new TurnServer({
      realm: 'example.org',
      auth: { users: { alice: 'wonderland', bob: 'builder' } },
      listeningIps: ['127.0.0.1'],
      listeningPort: 0,
      tlsListeningPort: 0,
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      peerPolicy: { allowLoopbackPeers: true },
      dataPlane: plane,
      maxTcpConnections: 4,
      tcpIdleTimeoutS: 1,
    });
    for (const a of await server.listen()) if (a.transport === transport) port = a.port;
    peer = dgram.createSocket('udp4');
    peer.bind(0, '127.0.0.1');
    await once(peer, 'listening');
    peer.on('message', (msg, rinfo) => peer.send(msg, rinfo.port, rinfo.address));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of open.splice(0)) s.destroy();
    // The next test starts with no connection left (the limit test counts them).
    await eventually(() => server.gauges.tcpConnections() === 0, 3000, 'connections closed');
  });

  afterAll(async () => {
    await server.close();
    peer.close();
    cert.cleanup();
  });

  const peerAddress = () => ({
    family: 4 as const,
    address: '127.0.0.1',
    port: peer.address().port,
  });

  async function connect(user = 'alice', pass = 'wonderland'): Promise<TestTurnClient> {
    const client = await TestTurnClient.connect(transport, port, { user, pass });
    clients.push(client);
    return client;
  }

  /**
   * A raw connection (TLS over the TLS port unless `plain`): its bytes, and a promise that
   * settles when the server closes it. Resolves once connected, or once closed (refused).
   */
  async function raw(
    plain = transport === 'tcp',
  ): Promise<{ socket: net.Socket; closed: Promise<void>; bytes: Buffer[] }> {
    const socket = plain
      ? net.connect(port, '127.0.0.1')
      : tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    open.push(socket);
    const bytes: Buffer[] = [];
    socket.on('data', (b: Buffer) => bytes.push(b));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const connected = new Promise<void>((resolve) =>
      socket.once(plain ? 'connect' : 'secureConnect', () => resolve()),
    );
    await Promise.race([connected, closed]); // (events.once would reject on a refusal's error)
    return { socket, closed, bytes };
  }

  function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    return Promise.race([
      promise,
      new Promise<T>((_, reject) =>
        setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms),
      ),
    ]);
  }

  /** Resolves once `condition` holds (checked every 20 ms), or fails after `ms`. */
  async function eventually(condition: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const adopted = () => server.gauges.dataPlane()?.streamsAdopted ?? 0;

  it('relays ChannelData of every length both ways, padded on the stream', async () => {
    const before = adopted();
    const client = await connect();
    await client.allocate();
    expect((await client.channelBind(0x4001, peerAddress())).messageClass).toBe(
      MessageClass.SuccessResponse,
    );
    const relayedInC = (): number => {
      const stats = server.gauges.dataPlane();
      return (stats?.toPeerPackets ?? 0) + (stats?.toClientPackets ?? 0);
    };
    const relayedBefore = relayedInC();
    const lengths = [0, 1, 2, 3, 5, 1199, 1200];
    for (const length of lengths) {
      const payload = new Uint8Array(length).map((_, i) => (i * 7 + length) & 0xff);
      client.sendChannelData(0x4001, payload, true);
      const back = await client.nextChannelData();
      expect(back.channel).toBe(0x4001);
      expect(back.data).toEqual(payload);
    }
    if (plane === 'native') {
      expect(adopted() - before).toBe(1);
      // Both ways in the addon itself, not passed up to JavaScript.
      expect(relayedInC() - relayedBefore).toBe(2 * lengths.length);
    }
  });

  it('relays Send indications and answers with Data indications', async () => {
    const client = await connect();
    await client.allocate();
    const perm = await client.request(Method.CreatePermission, [
      attr(xorPeerAddress, peerAddress()),
    ]);
    expect(perm.messageClass).toBe(MessageClass.SuccessResponse);
    const send = encodeMessage(
      {
        method: Method.Send,
        messageClass: MessageClass.Indication,
        transactionId: newTransactionId(),
        attributes: [
          attr(xorPeerAddress, peerAddress()),
          attr(dataAttr, new Uint8Array([9, 8, 7])),
        ],
      },
      nodeStunCrypto,
    );
    client.sendRaw(send);
    const indication = await client.nextIndication();
    expect(indication.method).toBe(Method.Data);
    expect(new Uint8Array(indication.get(dataAttr)!)).toEqual(new Uint8Array([9, 8, 7]));
  });

  it('counts what it relays under its own transport', async () => {
    const stats = server.core.stats;
    const index = TRANSPORT_INDEX[transport];
    const toPeer = stats.packetsToPeer[index];
    const client = await connect();
    await client.allocate();
    await client.channelBind(0x4002, peerAddress());
    for (let i = 0; i < 5; i++) {
      client.sendChannelData(0x4002, new Uint8Array([i]), true);
      await client.nextChannelData();
    }
    server.listAllocations(); // brings the native plane's counts in
    expect(stats.packetsToPeer[index] - toPeer).toBeGreaterThanOrEqual(5);
  });

  it('closes a connection that breaks framing after its first request', async () => {
    const dropped = () => server.gauges.droppedByDriver().get('malformed') ?? 0;
    const before = dropped();
    const client = await connect();
    await client.allocate();
    const { socket, closed } = await raw();
    // A valid Binding request first (it passes the first-bytes check), then garbage.
    socket.write(bindingRequest());
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write(Buffer.from([0xc0, 0, 0, 4, 1, 2, 3, 4]));
    await within(closed, 3000, 'close after bad framing');
    // The addon closes the connection, then tells JavaScript: the count may come a moment later.
    await eventually(() => dropped() - before === 1, 3000, 'malformed counted');
    // The other client is unaffected.
    await client.channelBind(0x4003, peerAddress());
    client.sendChannelData(0x4003, new Uint8Array([1]), true);
    expect((await client.nextChannelData()).data).toEqual(new Uint8Array([1]));
  });

  it('closes an idle connection without an allocation, and keeps one with an allocation', async () => {
    const idle = await raw();
    idle.socket.write(bindingRequest());
    const client = await connect();
    await client.allocate();
    await within(idle.closed, 4000, 'idle close');
    expect(Buffer.concat(idle.bytes).length).toBeGreaterThan(20); // it was answered first
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await client.channelBind(0x4004, peerAddress());
    client.sendChannelData(0x4004, new Uint8Array([4]), true);
    expect((await client.nextChannelData()).data).toEqual(new Uint8Array([4]));
  });

  it('refuses connections beyond --max-tcp-connections, counting handed-over ones', async () => {
    const limited = () => server.gauges.droppedByDriver().get('connection-limit') ?? 0;
    const before = limited();
    const held: TestTurnClient[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await connect();
      await c.allocate();
      held.push(c);
    }
    const extra = await raw();
    await within(extra.closed, 3000, 'refused connection');
    expect(limited() - before).toBe(1);
    for (const c of held) c.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = await connect();
    await again.allocate();
  });

  it('closes the connection of a revoked allocation', async () => {
    const client = await connect('bob', 'builder');
    await client.allocate();
    const { socket } = await raw(); // only to keep the count of open sockets honest
    socket.destroy();
    const count = server.gauges.tcpConnections();
    expect(server.revokeAllocations((user) => user === 'bob')).toBe(1);
    await eventually(
      () => server.gauges.tcpConnections() < count,
      3000,
      'revoked connection closed',
    );
  });

  it.runIf(transport === 'tls')('answers an HTTP request over TLS with a refusal', async () => {
    const refused = () => server.gauges.droppedByDriver().get('http-refused') ?? 0;
    const before = refused();
    const { socket, closed, bytes } = await raw();
    socket.write('GET / HTTP/1.1\r\nHost: turn.example.org\r\n\r\n');
    await within(closed, 3000, 'close after the refusal');
    const answer = Buffer.concat(bytes).toString('latin1');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain('STUN/TURN port');
    await eventually(() => refused() - before === 1, 3000, 'http-refused counted');
  });

  // The refusal must survive a client that keeps sending (a body): closing under its bytes
  // would reset the connection and could throw the answer away (the native plane's lingering
  // close; Node's path ends the socket and reads on).
  it.runIf(transport === 'tls')(
    'answers an HTTP upload over TLS with the whole refusal while the body still comes',
    async () => {
      for (let round = 0; round < 3; round++) {
        const { socket, closed, bytes } = await raw();
        const errors: string[] = [];
        socket.on('error', (e: Error) => errors.push(e.message));
        const state = { ended: false }; // the refusal's end: stop sending
        socket.once('end', () => (state.ended = true));
        socket.write(
          'POST /up HTTP/1.1\r\nHost: turn.example.org\r\nContent-Length: 4000000\r\n\r\n',
        );
        const chunk = Buffer.alloc(16 * 1024, 0x61);
        for (
          let sent = 0;
          sent < 4_000_000 && !state.ended && !socket.destroyed;
          sent += chunk.length
        ) {
          if (!socket.write(chunk))
            await within(once(socket, 'drain'), 1000, 'drain').catch(() => undefined);
        }
        await within(closed, 5000, 'close after the refusal');
        expect(errors).toEqual([]);
        expect(Buffer.concat(bytes).toString('latin1')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      }
    },
  );

  it.runIf(transport === 'tls')('closes a client that does not speak TLS', async () => {
    const dropped = () => server.gauges.droppedByDriver().get('malformed') ?? 0;
    const before = dropped();
    const { socket, closed } = await raw(true);
    socket.write(Buffer.alloc(64, 0x16)); // a record header of garbage, not a ClientHello
    await within(closed, 3000, 'close after a broken handshake');
    await eventually(() => dropped() - before === 1, 3000, 'malformed counted');
  });
});
