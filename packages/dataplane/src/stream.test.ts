/**
 * TCP clients of the native data plane ("streams") through the TypeScript wrapper, over real
 * loopback sockets: a connection accepted by Node is handed to a worker (adoptStream), which
 * splits the byte stream into frames (RFC 8656 §12.5), passes up what it does not relay, ends
 * the connection on bad framing, writes what JavaScript queues (sendToStream), relays the
 * ChannelData and Send indications of a programmed allocation, and drops relayed data for a
 * client that does not read.
 */
import { spawnSync } from 'node:child_process';
import type net from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  MiB,
  adopt,
  allocation,
  bytes,
  channelData,
  cleanups,
  dataIndication,
  delay,
  describeNative,
  endOf,
  expectFrames,
  fdOf,
  mixedFrames,
  framesOf,
  hex,
  openFds,
  openPlane,
  pausedServer,
  randomFrames,
  receiver,
  runCleanups,
  sendIndication,
  stun,
  streamSender,
  udpPeer,
  waitFor,
  write,
} from './test-support.js';
import type { PausedServer, Received } from './test-support.js';
import type { DataPlane } from './index.js';

afterEach(runCleanups);

// ---- TCP connections ---------------------------------------------------------------------------

// Node never reads an accepted socket: every byte is the worker's.
let server: PausedServer;

beforeAll(async () => {
  server = await pausedServer();
});

afterAll(() => {
  server.close();
});

/** A TCP client as the test sees it: what it received and whether its connection closed. */
interface Client extends Received {
  readonly socket: net.Socket;
  closed: boolean;
}

/** Connects a client; returns it and the server side of the connection (not read by Node). */
async function connect(read = true): Promise<{ client: Client; serverSide: net.Socket }> {
  const { raw: socket, serverSide } = await server.connect(!read);
  const client: Client = { socket, closed: false, ...receiver(socket) };
  socket.on('close', () => (client.closed = true));
  if (read) client.read();
  return { client, serverSide };
}

/** A connected client whose connection `worker` serves as stream client `id`. */
async function adopted(
  plane: DataPlane,
  worker: number,
  id: number,
  options: { partial?: Uint8Array; read?: boolean } = {},
): Promise<{ client: Client; handle: number }> {
  const { client, serverSide } = await connect(options.read ?? true);
  const handle = adopt(plane, serverSide, worker, id, options.partial);
  cleanups.push(() => {
    plane.closeStream(handle);
  });
  return { client, handle };
}

// ---- the tests ---------------------------------------------------------------------------------

describeNative('native stream clients: framing', () => {
  it('splits frames written byte by byte, strips ChannelData padding, keeps order', async () => {
    const { plane, up } = openPlane();
    const { client } = await adopted(plane, 1, 11);
    const frames = mixedFrames();
    for (const [i, { wire }] of frames.entries()) {
      for (const byte of wire) {
        // Nothing of frame i (or its padding) may go up before its last byte is written.
        expect(framesOf(up, 11).length).toBe(i);
        await write(client, Buffer.from([byte]));
        await delay(1); // one segment per byte (noDelay): the worker sees the stream in bits
      }
      await waitFor(() => framesOf(up, 11).length === i + 1, `frame ${i} up`);
    }
    expect(hex(framesOf(up, 11))).toEqual(hex(frames.map((f) => f.frame)));
    const record = up.find((p) => p.source === 'stream')!;
    expect(record).toMatchObject({ id: 11, worker: 1, port: 0 });
    expect([...record.address]).toEqual([0, 0, 0, 0]);
    expect(endOf(up, 11)).toBeUndefined();
    expect(client.closed).toBe(false);
  });

  it('splits many frames of one write, also across reads of the largest frames', async () => {
    const { plane, up } = openPlane();
    const { client } = await adopted(plane, 0, 12);
    const { expected, wire } = randomFrames(12345, 600);
    expect(wire.length).toBeGreaterThan(256 * 1024); // more than one read of the worker
    await write(client, wire);
    await waitFor(() => framesOf(up, 12).length === expected.length, 'all frames up', 5000);
    expectFrames(framesOf(up, 12), expected);
    expect(plane.stats().passedUpDropped).toBe(0);
    expect(endOf(up, 12)).toBeUndefined();
  });

  it('splits the bytes handed over with the connection, then what follows', async () => {
    const { plane, up } = openPlane();
    const first = stun(0x0001, bytes(12));
    const second = stun(0x0003, bytes(24, 50));
    const cd = channelData(0x4005, bytes(6, 9));
    const partial = Buffer.concat([first, second.subarray(0, 13)]);
    const { client } = await adopted(plane, 1, 13, { partial });
    await waitFor(() => framesOf(up, 13).length === 1, 'the whole frame of the partial bytes');
    expect(hex(framesOf(up, 13))).toEqual(hex([first]));
    await write(client, Buffer.concat([second.subarray(13), cd.wire]));
    await waitFor(() => framesOf(up, 13).length === 3, 'the rest');
    expect(hex(framesOf(up, 13))).toEqual(hex([first, second, cd.frame]));

    // Only whole frames handed over, nothing ever written: the worker splits them when woken.
    const a = channelData(0x4001, bytes(3));
    const b = stun(0x0001, 4);
    await adopted(plane, 0, 14, { partial: Buffer.concat([a.wire, b]) });
    await waitFor(() => framesOf(up, 14).length === 2, 'whole frames of the partial bytes');
    expect(hex(framesOf(up, 14))).toEqual(hex([a.frame, b]));
  });

  it('refuses too many partial bytes and a bad descriptor, and goes on serving', async () => {
    const { plane, up } = openPlane();
    const { serverSide } = await connect();
    expect(plane.adoptStream(0, fdOf(serverSide), 15, new Uint8Array(128 * 1024 + 1))).toBe(
      undefined,
    );
    expect(plane.adoptStream(0, 1_000_000, 15, new Uint8Array(0))).toBeUndefined();
    expect(plane.stats().streamsAdopted).toBe(0);
    const { client } = await adopted(plane, 0, 16);
    expect(plane.stats().streamsAdopted).toBe(1);
    await write(client, stun(0x0001, 0));
    await waitFor(() => framesOf(up, 16).length === 1, 'a frame of a later stream');
  });
});

describeNative('native stream clients: ends', () => {
  const valid = stun(0x0001, 4);
  const badCases: [string, Buffer][] = [
    ['first two bits 10', Buffer.from([0x80, 0x01, 0x00, 0x04, 1, 2, 3, 4])],
    ['first two bits 11', Buffer.from([0xc0, 0x00, 0x00, 0x00])],
    ['a STUN length that is no multiple of 4', stun(0x0001, 6)],
    ['a bad magic cookie', stun(0x0001, 4, 0x2112a443)],
  ];

  it.each(badCases)('ends the connection on bad framing: %s', async (_, bad) => {
    const { plane, up } = openPlane();
    const { client, handle } = await adopted(plane, 1, 21);
    await write(client, Buffer.concat([valid, bad, stun(0x0001, 0)]));
    await waitFor(() => endOf(up, 21) !== undefined, 'stream-end');
    expect(hex(framesOf(up, 21))).toEqual(hex([valid])); // not the frame after the bad one
    const end = endOf(up, 21)!;
    expect([...end.data]).toEqual([1]);
    expect(up.indexOf(end)).toBeGreaterThan(up.findIndex((p) => p.source === 'stream'));
    await waitFor(() => client.closed, 'the client sees the connection closed');
    expect(plane.sendToStream(handle, bytes(4), false)).toBe('gone');
    expect(plane.closeStream(handle)).toBe(true);
    expect(plane.closeStream(handle)).toBe(false);
  });

  it('ends the connection on bad framing in the bytes handed over', async () => {
    const { plane, up } = openPlane();
    const partial = Buffer.concat([valid, Buffer.from([0xff, 0xff, 0xff, 0xff])]);
    const { client } = await adopted(plane, 0, 22, { partial });
    await waitFor(() => endOf(up, 22) !== undefined, 'stream-end');
    expect([...endOf(up, 22)!.data]).toEqual([1]);
    expect(hex(framesOf(up, 22))).toEqual(hex([valid]));
    await waitFor(() => client.closed, 'the client sees the connection closed');
  });

  it('passes up the end of the stream when the client closes, mid-frame too', async () => {
    const { plane, up } = openPlane();
    const { client, handle } = await adopted(plane, 1, 23);
    await write(client, Buffer.concat([valid, stun(0x0001, 8).subarray(0, 10)]));
    client.socket.end();
    await waitFor(() => endOf(up, 23) !== undefined, 'stream-end');
    expect([...endOf(up, 23)!.data]).toEqual([0]);
    expect(hex(framesOf(up, 23))).toEqual(hex([valid])); // the incomplete frame stays unsaid
    await waitFor(() => client.closed, 'the connection closes');
    expect(plane.sendToStream(handle, bytes(4), false)).toBe('gone');
    expect(plane.closeStream(handle)).toBe(true);
    expect(plane.closeStream(handle)).toBe(false);

    const other = await adopted(plane, 1, 24);
    other.client.socket.destroy();
    await waitFor(() => endOf(up, 24) !== undefined, 'stream-end after destroy');
    expect([...endOf(up, 24)!.data]).toEqual([0]);
    expect(plane.closeStream(other.handle)).toBe(true);
  });

  it('closes a live connection on closeStream, without a stream-end', async () => {
    const { plane, up } = openPlane();
    const { client, handle } = await adopted(plane, 0, 25);
    expect(plane.closeStream(handle)).toBe(true);
    await waitFor(() => client.closed, 'the client sees the connection closed');
    expect(plane.closeStream(handle)).toBe(false);
    expect(plane.sendToStream(handle, bytes(1), false)).toBe('gone');
    await delay(50);
    expect(endOf(up, 25)).toBeUndefined();
    // The freed slot serves the next connection; the old handle stays stale.
    const next = await adopted(plane, 0, 26);
    expect(next.handle).not.toBe(handle);
    expect(plane.closeStream(handle)).toBe(false);
    expect(plane.sendToStream(next.handle, bytes(3), false)).toBe('sent');
    await waitFor(() => next.client.size() === 3, 'bytes on the reused slot');
  });

  it('closes adopted connections with the plane, leaking no descriptor', async () => {
    const before = openFds();
    const { plane } = openPlane();
    const clients: Client[] = [];
    for (let i = 0; i < 4; i++) clients.push((await adopted(plane, i % 2, 30 + i)).client);
    plane.close();
    await waitFor(() => clients.every((c) => c.closed), 'every client sees its connection closed');
    for (const c of clients) c.socket.destroy();
    await delay(20);
    expect(openFds()).toBe(before);
    expect(plane.closeStream(0)).toBe(false);
  });
});

describeNative('native stream clients: sending', () => {
  it('writes what JavaScript queues, in order, over turns; drops only droppable bytes', async () => {
    const { plane } = openPlane();
    const { client, handle } = await adopted(plane, 1, 41);
    const { send, sent: expected } = streamSender(plane, handle);
    const counter = Buffer.alloc(4);
    for (let turn = 0; turn < 5; turn++) {
      for (let i = 0; i < 400; i++) {
        counter.writeUInt32BE(turn * 1000 + i); // one buffer rewritten: the queue holds copies
        expect(send(counter)).toBe('sent');
      }
      await delay(1);
    }
    const big = bytes(3 * MiB, 7);
    expect(send(big)).toBe('sent'); // JavaScript's own bytes are never dropped
    expect(send(bytes(10), true)).toBe('dropped'); // relayed data: more than 1 MiB waits
    expect(send(bytes(4, 200))).toBe('sent');
    await waitFor(() => client.size() === 2000 * 4 + 3 * MiB + 4, 'every byte', 5000);
    expect(client.received().equals(Buffer.concat(expected))).toBe(true);
    expect(send(bytes(MiB + 1), true)).toBe('dropped'); // too much by itself
    expect(send(bytes(16), true)).toBe('sent'); // nothing waits any more
    plane.flushSends();
    await waitFor(() => client.size() === 2000 * 4 + 3 * MiB + 4 + 16, 'the droppable bytes');
  });

  it('writes queued bytes before closeStream closes; a closed or unknown handle is gone', async () => {
    const { plane } = openPlane();
    const { client, handle } = await adopted(plane, 0, 42);
    expect(plane.sendToStream(handle, bytes(100), false)).toBe('sent');
    expect(plane.closeStream(handle)).toBe(true); // same turn: not flushed yet
    await waitFor(() => client.closed, 'the connection closes');
    expect(client.received().equals(bytes(100))).toBe(true);
    expect(plane.sendToStream(handle, bytes(4), false)).toBe('gone');
    expect(plane.sendToStream(2 ** 40 + 5, bytes(4), false)).toBe('gone');
    expect(plane.sendToStream(-1, bytes(4), false)).toBe('gone');
    expect(plane.closeStream(2 ** 40 + 5)).toBe(false);
  });
});

describeNative('native stream clients: relaying', () => {
  it('relays ChannelData and Send both ways natively for a programmed allocation', async () => {
    const { plane, up } = openPlane();
    const worker = 1;
    const { client, handle } = await adopted(plane, worker, 51);
    const peer = await udpPeer();
    const other = await udpPeer();
    const relay = plane.openRelay(worker, '127.0.0.1', 0, 77)!;
    expect(relay).toBeDefined();
    const alloc = plane.program(
      allocation(worker, handle, relay, [{ number: 0x4001, port: peer.port }]),
    );
    expect(alloc).toBeDefined();

    // Client → peer: bound channel relayed (padding skipped), unbound channel passed up.
    const unbound = channelData(0x4002, bytes(1, 9));
    await write(
      client,
      Buffer.concat([
        channelData(0x4001, bytes(5)).wire,
        unbound.wire,
        channelData(0x4001, bytes(3, 20)).wire,
      ]),
    );
    await waitFor(() => peer.got.length === 2 && framesOf(up, 51).length === 1, 'relayed');
    expect(peer.got.map((m) => [...m.data])).toEqual([
      [1, 2, 3, 4, 5],
      [20, 21, 22],
    ]);
    const relayPort = peer.got[0]!.port;
    await delay(30);
    expect(hex(framesOf(up, 51))).toEqual(hex([unbound.frame])); // only the unbound one

    // Peer → client: ChannelData padded to a multiple of 4 on the stream.
    await peer.send(bytes(5, 0x61), relayPort);
    await peer.send(bytes(8, 0x71), relayPort);
    await peer.send(bytes(1, 0x81), relayPort);
    const channelFrames = Buffer.concat([
      Buffer.from([0x40, 0x01, 0, 5, 0x61, 0x62, 0x63, 0x64, 0x65, 0, 0, 0]),
      Buffer.from([0x40, 0x01, 0, 8, ...bytes(8, 0x71)]),
      Buffer.from([0x40, 0x01, 0, 1, 0x81, 0, 0, 0]),
    ]);
    await waitFor(() => client.size() === channelFrames.length, 'padded ChannelData');
    expect(client.received().toString('hex')).toBe(channelFrames.toString('hex'));

    // A permitted peer without a channel: a Data indication, padded like the JS encoder's.
    await other.send(bytes(5, 1), relayPort);
    await waitFor(() => client.size() === channelFrames.length + 44, 'a Data indication');
    const indication = client.received().subarray(channelFrames.length);
    const expectedIndication = dataIndication(other.port, bytes(5, 1), indication.subarray(8, 20));
    expect(indication.toString('hex')).toBe(Buffer.from(expectedIndication).toString('hex'));

    // Client → other peer: a Send indication, relayed natively, not passed up.
    const send = sendIndication(other.port, new Uint8Array([7, 7, 7]));
    await write(client, send);
    await waitFor(() => other.got.length === 1, 'the Send indication relayed');
    expect([...other.got[0]!.data]).toEqual([7, 7, 7]);
    expect(other.got[0]!.port).toBe(relayPort);
    expect(plane.take(alloc!)).toEqual({
      fromClientBytes: 5 + 3 + 3,
      fromClientPackets: 3,
      toClientBytes: 5 + 8 + 1 + 5,
      toClientPackets: 4,
    });

    // Unprogrammed: everything goes up again.
    expect(plane.unprogram(alloc!)).toBeDefined();
    const again = channelData(0x4001, bytes(2, 4));
    await write(client, again.wire);
    await peer.send(bytes(2), relayPort);
    await waitFor(() => framesOf(up, 51).length === 2, 'ChannelData up after unprogram');
    await waitFor(() => up.some((p) => p.source === 'peer' && p.id === 77), 'peer data up');
    expect(hex(framesOf(up, 51))).toEqual(hex([unbound.frame, again.frame]));
    expect(peer.got.length).toBe(2);
  });

  it('refuses a stream of another worker, and forgets a closed stream', async () => {
    const { plane, up } = openPlane();
    const { handle } = await adopted(plane, 0, 61);
    const peer = await udpPeer();
    const relay1 = plane.openRelay(1, '127.0.0.1', 0, 1)!;
    expect(plane.program(allocation(1, handle, relay1, []))).toBeUndefined();
    const relay0 = plane.openRelay(0, '127.0.0.1', 0, 2)!;
    const alloc = plane.program(
      allocation(0, handle, relay0, [{ number: 0x4001, port: peer.port }]),
    );
    expect(alloc).toBeDefined();
    // Learn the relay port from a datagram JavaScript sends out of it.
    expect(plane.sendFromRelay(relay0, '127.0.0.1', peer.port, bytes(1))).toBe(true);
    await waitFor(() => peer.got.length === 1, 'a datagram from the relay');
    const relayPort = peer.got[0]!.port;

    expect(plane.closeStream(handle)).toBe(true);
    // The next connection on the worker takes the freed slot: it must not get the old data.
    const next = await adopted(plane, 0, 62);
    await peer.send(bytes(5), relayPort);
    await delay(50);
    expect(next.client.size()).toBe(0);
    expect(plane.sendToStream(next.handle, bytes(2), false)).toBe('sent');
    await waitFor(() => next.client.size() === 2, 'the new stream works');
    expect(plane.unprogram(alloc!)).toBeDefined();
    expect(up.filter((p) => p.source === 'stream-end')).toEqual([]);
  });

  it('drops relayed data for a client that does not read, and serves the others', async () => {
    const { plane, up } = openPlane();
    const worker = 0;
    const slow = await adopted(plane, worker, 71, { read: false });
    const fast = await adopted(plane, worker, 72);
    const peer = await udpPeer();
    const relay = plane.openRelay(worker, '127.0.0.1', 0, 3)!;
    const alloc = plane.program(
      allocation(worker, slow.handle, relay, [{ number: 0x4001, port: peer.port }]),
    );
    expect(alloc).toBeDefined();
    expect(plane.sendFromRelay(relay, '127.0.0.1', peer.port, bytes(1))).toBe(true);
    await waitFor(() => peer.got.length === 1, 'a datagram from the relay');
    const relayPort = peer.got[0]!.port;

    // 59 999 bytes: one byte of padding per frame on the stream.
    const size = 59_999;
    const datagram = (seq: number): Buffer => {
      const d = Buffer.alloc(size, seq & 0xff);
      d.writeUInt32BE(seq, 0);
      return d;
    };
    const deadline = Date.now() + 4000;
    let seq = 0;
    while (plane.stats().streamDropped === 0 && Date.now() < deadline) {
      const batch: Promise<void>[] = [];
      for (let i = 0; i < 16; i++) batch.push(peer.send(datagram(seq++), relayPort));
      await Promise.all(batch);
      await delay(1);
    }
    expect(plane.stats().streamDropped).toBeGreaterThan(0);
    // The worker may still be reading what the relay socket holds: a datagram relayed after the
    // marker below would queue behind it. Wait until the worker has read everything sent.
    for (let last = -1, until = Date.now() + 3000; Date.now() < until;) {
      const received = plane.stats().receivedPackets;
      if (received === last) break;
      last = received;
      await delay(100);
    }
    // More than 1 MiB waits: relayed-size data is dropped, JavaScript's own bytes are not.
    expect(plane.sendToStream(slow.handle, bytes(100_000), true)).toBe('dropped');
    const marker = channelData(0x4002, bytes(4, 0xf0));
    expect(plane.sendToStream(slow.handle, marker.wire, false)).toBe('sent');

    // The other client on the same worker is served meanwhile.
    await write(fast.client, stun(0x0001, 4));
    await waitFor(() => framesOf(up, 72).length === 1, 'a frame of the other client');
    expect(plane.sendToStream(fast.handle, bytes(9), false)).toBe('sent');
    await waitFor(() => fast.client.size() === 9, 'bytes to the other client');

    // The slow client reads at last: whole frames in order, some left out, then the marker.
    slow.client.read();
    await waitFor(
      () => slow.client.received().subarray(-marker.wire.length).equals(marker.wire),
      'the marker after the queued frames',
      4000,
    );
    const stream = slow.client.received();
    let offset = 0;
    let last = -1;
    let frames = 0;
    while (offset < stream.length - marker.wire.length) {
      expect(stream.readUInt16BE(offset)).toBe(0x4001);
      expect(stream.readUInt16BE(offset + 2)).toBe(size);
      const payload = stream.subarray(offset + 4, offset + 4 + size);
      const n = payload.readUInt32BE(0);
      expect(n).toBeGreaterThan(last);
      if (!payload.equals(datagram(n))) expect.fail(`frame ${n} is corrupt`);
      expect(stream[offset + 4 + size]).toBe(0); // the padding byte
      last = n;
      frames++;
      offset += 4 + size + 1;
    }
    expect(offset).toBe(stream.length - marker.wire.length);
    expect(frames).toBeGreaterThan(0);
    // Every datagram the worker read was either queued whole (and arrived) or dropped whole.
    const { streamDropped } = plane.stats();
    expect(plane.take(alloc!)?.toClientPackets).toBe(frames);
    expect(frames + streamDropped).toBeLessThanOrEqual(seq); // the relay may lose some, too
    expect(endOf(up, 71)).toBeUndefined();
    expect(endOf(up, 72)).toBeUndefined();
  });
});

describeNative('native stream clients: JavaScript far behind', () => {
  /**
   * The worker's queue of records for JavaScript (4 MiB) is filled to the byte with 64-byte
   * records of UDP datagrams while this thread is blocked; then the TCP client sends a STUN
   * message and closes. TCP is reliable (a client does not retransmit over it, RFC 8489 §6.2.2)
   * and the end of a stream is what makes JavaScript free its handle: neither may be dropped
   * as a datagram may.
   */
  it('passes up every frame and the end of a stream, however far behind JavaScript is', async () => {
    const { plane, up } = openPlane(1);
    const { port: udpPort } = plane.listen('127.0.0.1', 0);
    const { client } = await adopted(plane, 0, 81, { read: false });
    const script = `
      const net = require('node:net');
      const u = require('node:dgram').createSocket('udp4');
      const d = Buffer.alloc(28, 9); // 36 + 28 bytes: records fill the queue to the byte
      const send = () => u.send(d, ${udpPort}, '127.0.0.1');
      let sent = 0;
      const burst = () => {
        for (let i = 0; i < 500; i++) send();
        sent += 500;
        if (sent < 80000) setTimeout(burst, 1);
        else trickle(200);
      };
      const trickle = (n) => { // one by one: any gap left in the queue is filled
        send();
        setTimeout(n > 0 ? () => trickle(n - 1) : finish, 1);
      };
      const finish = () => {
        const s = new net.Socket({ fd: 3, readable: false, writable: true });
        const f = Buffer.alloc(20);
        f.writeUInt16BE(1, 0);
        f.writeUInt32BE(0x2112a442, 4);
        s.end(f, () => setTimeout(() => process.exit(0), 200));
      };
      burst();
    `;
    // spawnSync blocks this thread: nothing reads the worker's queue meanwhile.
    const child = spawnSync(process.execPath, ['-e', script], {
      stdio: ['ignore', 'ignore', 'inherit', fdOf(client.socket)],
      timeout: 15_000,
    });
    expect(child.status).toBe(0);
    await delay(1500);
    // Precondition: the queue was full (every record 64 bytes, 4 MiB of them), datagrams dropped.
    expect(up.filter((p) => p.source === 'client').length).toBe((4 * MiB) / 64);
    expect(plane.stats().passedUpDropped).toBeGreaterThan(0);
    expect.soft(framesOf(up, 81).length, 'the STUN message sent over TCP').toBe(1);
    expect.soft(endOf(up, 81)?.data[0], 'the end of the stream').toBe(0);
  });
});
