/**
 * The native data plane through its TypeScript wrapper, over real loopback sockets: open/close
 * cycles without leaked descriptors, the fast path both ways (ChannelData, Send → Data
 * indication byte-identical to the JavaScript encoder), what is passed up, and random bytes.
 */
import dgram from 'node:dgram';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DataPlane, forEachRecord } from './index.js';
import type { PassedUpPacket } from './index.js';
import {
  addon,
  cleanups,
  dataIndication,
  describeNative,
  openFds,
  openPlane,
  runCleanups,
  sendIndication,
  waitFor,
} from './test-support.js';

afterEach(runCleanups);

function socket(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      resolve(s);
    });
    cleanups.push(() => {
      s.close();
    });
  });
}

/** openPlane's plane (2 workers), with `gso: false`. */
function openPlaneWithoutGso(): { plane: DataPlane; up: PassedUpPacket[] } {
  const up: PassedUpPacket[] = [];
  const plane = addon!.open({
    threads: 2,
    minPort: 40000,
    maxPort: 60000,
    gso: false,
    onPacket: (p) => up.push({ ...p, data: Buffer.from(p.data) }),
  });
  cleanups.push(() => {
    plane.close();
  });
  return { plane, up };
}

/** Collects what `s` receives. */
function collect(s: dgram.Socket): Buffer[] {
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  return got;
}

/**
 * Sends bursts of 24 datagrams from `peer` to the relay (23 of `size` bytes, numbered, then a
 * shorter one), until `enough()` or `bursts` bursts; what the client must receive, in order.
 */
async function bursts(
  peer: dgram.Socket,
  relayPort: number,
  size: number,
  bursts: number,
  enough: () => boolean,
): Promise<Buffer[]> {
  const expected: Buffer[] = [];
  for (let b = 0; b < bursts && !enough(); b++) {
    for (let i = 0; i < 24; i++) {
      const payload = Buffer.alloc(i === 23 ? size - 5 : size, (b * 24 + i) & 0xff);
      payload.writeUInt32BE(b * 24 + i, 0);
      expected.push(
        Buffer.concat([
          Buffer.from([0x40, 0x01, payload.length >> 8, payload.length & 0xff]),
          payload,
        ]),
      );
      peer.send(payload, relayPort, '127.0.0.1');
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return expected;
}

function next(s: dgram.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('no datagram within 2 s'));
    }, 2000);
    s.once('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
}

/**
 * A plane with one listener, one client, one peer and one relay; the client is programmed.
 * `gso: false` opens the plane without segmented sends.
 */
async function setup(options: { gso?: boolean } = {}): Promise<{
  plane: DataPlane;
  up: PassedUpPacket[];
  client: dgram.Socket;
  peer: dgram.Socket;
  port: number;
  relayPort: number;
}> {
  const { plane, up } = options.gso === false ? openPlaneWithoutGso() : openPlane();
  const { listener, port } = plane.listen('127.0.0.1', 0);
  const client = await socket();
  const peer = await socket();
  client.send(Buffer.from('hello'), port, '127.0.0.1');
  await waitFor(() => up.length === 1, 'the first datagram up', 2000);
  const worker = up[0]!.worker;
  let relayPort = 0;
  let relay: number | undefined;
  for (let p = 41000; relay === undefined; p++) {
    relay = plane.openRelay(worker, '127.0.0.1', p, 7);
    relayPort = p;
  }
  const handle = plane.program({
    worker,
    listener,
    clientIp: '127.0.0.1',
    clientPort: client.address().port,
    relays: [relay],
    ttlMs: 60_000,
    permissions: [{ ip: '127.0.0.1', ttlMs: 60_000, relayPortsOnly: false }],
    channels: [{ number: 0x4001, ip: '127.0.0.1', port: peer.address().port, ttlMs: 60_000 }],
  });
  expect(handle).toBeDefined();
  return { plane, up, client, peer, port, relayPort };
}

describeNative('native data plane', () => {
  it('opens and closes repeatedly without leaking descriptors', () => {
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const plane = addon!.open({
        threads: 2,
        minPort: 40000,
        maxPort: 60000,
        onPacket: () => undefined,
      });
      plane.listen('127.0.0.1', 0);
      expect(plane.openRelay(0, '127.0.0.1', 0, 1)).toBeDefined();
      plane.close();
      plane.close();
    }
    expect(openFds()).toBe(before);
  });

  it('names the worker in each relay handle, also after a move', () => {
    const plane = addon!.open({
      threads: 2,
      minPort: 40000,
      maxPort: 60000,
      onPacket: () => undefined,
    });
    try {
      const handle = plane.openRelay(1, '127.0.0.1', 0, 1);
      expect(handle).toBeDefined();
      expect(DataPlane.workerOf(handle!)).toBe(1);
      const moved = plane.moveRelay(handle!, 0);
      expect(moved).toBeDefined();
      expect(DataPlane.workerOf(moved!)).toBe(0);
    } finally {
      plane.close();
    }
  });

  it('relays ChannelData both ways and counts it per allocation', async () => {
    const { plane, client, peer, port, relayPort } = await setup();
    const toPeer = next(peer);
    client.send(Buffer.from([0x40, 0x01, 0, 3, 1, 2, 3, 0]), port, '127.0.0.1');
    expect([...(await toPeer)]).toEqual([1, 2, 3]);
    const toClient = next(client);
    peer.send(Buffer.from([9, 8]), relayPort, '127.0.0.1');
    expect([...(await toClient)]).toEqual([0x40, 0x01, 0, 2, 9, 8]);
    const counts: number[] = [];
    plane.takeAll((_, c) => counts.push(c.fromClientBytes, c.toClientBytes));
    expect(counts).toEqual([3, 2]);
    expect(plane.stats().toPeerPackets).toBe(1);
  });

  it.each([
    ['1,196-byte', 1196, true],
    ['1,500-byte (over the size that may use GSO)', 1500, false],
  ] as const)(
    'sends a burst of %s datagrams to one client as segmented sends, each arriving whole',
    async (_, size, segmented) => {
      const { plane, client, peer, relayPort } = await setup();
      const got = collect(client);
      const expected = await bursts(
        peer,
        relayPort,
        size,
        40,
        () => plane.stats().gsoDatagrams >= 48,
      );
      await waitFor(() => got.length === expected.length, `${expected.length} datagrams`, 4000);
      expect(got.map((d) => d.length)).toEqual(expected.map((d) => d.length));
      for (let i = 0; i < got.length; i++) {
        if (!got[i]!.equals(expected[i]!)) expect.fail(`datagram ${i} differs`);
      }
      const stats = plane.stats();
      if (segmented) expect(stats.gsoDatagrams).toBeGreaterThanOrEqual(48);
      else expect(stats.gsoDatagrams).toBe(0);
      expect(stats.sendErrors).toBe(0);
      expect(stats.toClientPackets).toBe(expected.length);
    },
  );

  it('sends each datagram on its own with gso: false', async () => {
    const { plane, client, peer, relayPort } = await setup({ gso: false });
    const got = collect(client);
    const expected = await bursts(peer, relayPort, 1196, 10, () => false);
    await waitFor(() => got.length === expected.length, `${expected.length} datagrams`, 4000);
    expect(Buffer.concat(got).equals(Buffer.concat(expected))).toBe(true);
    expect(plane.stats().gsoDatagrams).toBe(0);
    expect(plane.stats().sendCalls).toBeGreaterThan(0);
  });

  it('relays a Send indication and answers with a Data indication as the JS encoder would', async () => {
    const { client, peer, port, relayPort } = await setup();
    const other = await socket();
    const target = other.address().port;
    const send = sendIndication(target, new Uint8Array([7, 7, 7]));
    const toOther = next(other);
    client.send(send, port, '127.0.0.1');
    expect([...(await toOther)]).toEqual([7, 7, 7]);
    const toClient = next(client);
    other.send(Buffer.from([1, 2, 3, 4, 5]), relayPort, '127.0.0.1');
    const indication = await toClient;
    const expected = dataIndication(
      target,
      new Uint8Array([1, 2, 3, 4, 5]),
      indication.subarray(8, 20),
    );
    expect(Buffer.from(expected).equals(indication)).toBe(true);
    expect(peer.address().port).not.toBe(target);
  });

  it('passes up what it does not relay, with source and listener', async () => {
    const { up, client, port, relayPort } = await setup();
    client.send(Buffer.from([0x40, 0x02, 0, 1, 1]), port, '127.0.0.1'); // unbound channel
    const stranger = await socket();
    stranger.send(Buffer.from([4]), relayPort, '127.0.0.1'); // from an unknown port: permitted IP
    await waitFor(() => up.length === 2, 'both passed up', 2000);
    expect(up[1]).toMatchObject({ source: 'client', id: 0, port: client.address().port });
  });

  it('queues what arrives while JavaScript is busy, in order, without dropping', async () => {
    const { plane, up, client, port } = await setup();
    const count = 3000;
    const before = up.length;
    for (let i = 0; i < count; i++) {
      const bytes = Buffer.alloc(8);
      bytes.writeUInt32BE(i, 4); // not a ChannelData or STUN shape: every one goes up
      client.send(bytes, port, '127.0.0.1');
    }
    const busyUntil = Date.now() + 100;
    while (Date.now() < busyUntil) {
      // the worker keeps reading meanwhile: its records join one queue
    }
    await waitFor(() => up.length - before === count, 'every datagram up', 2000);
    const order = up.slice(before).map((p) => p.data.readUInt32BE(4));
    expect(order).toEqual([...Array(count).keys()]);
    expect(plane.stats().passedUpDropped).toBe(0);
  });

  it('sends queued datagrams when the turn ends, in order, and before their relay closes', async () => {
    let failed = 0;
    const plane = addon!.open({
      threads: 1,
      minPort: 40000,
      maxPort: 60000,
      onPacket: () => undefined,
      onSendErrors: (n) => (failed += n),
    });
    cleanups.push(() => {
      plane.close();
    });
    const handle = plane.openRelay(0, '127.0.0.1', 0, 1)!;
    const peer = await socket();
    const got: number[] = [];
    peer.on('message', (m) => got.push(m.readUInt32BE(0)));
    const bytes = Buffer.alloc(4);
    const send = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        bytes.writeUInt32BE(i); // one buffer rewritten: the queue must hold copies
        expect(plane.sendFromRelay(handle, '127.0.0.1', peer.address().port, bytes)).toBe(true);
      }
    };
    const callsBefore = plane.stats().sendCalls;
    send(0, 150); // more than the queue holds (64): it sends the first ones on the way
    await waitFor(() => got.length === 150, 'the first 150', 2000); // the rest when this turn ended
    expect(plane.stats().sendCalls - callsBefore).toBe(3); // 64 + 64 + 22, one sendmmsg each
    send(150, 155);
    expect(plane.closeRelay(handle)).toBe(true); // sends its queue before the socket closes
    await waitFor(() => got.length === 155, 'all 155', 2000);
    expect(got).toEqual([...Array(155).keys()]);
    expect(plane.sendFromRelay(handle, '127.0.0.1', peer.address().port, bytes)).toBe(false);
    expect(failed).toBe(0);
  });

  it('survives random datagrams on listeners and relays, still relaying afterwards', async () => {
    const { plane, up, client, peer, port, relayPort } = await setup();
    const runs = Number(process.env['FUZZ_RUNS'] ?? 300);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 1500 }),
        fc.boolean(),
        async (bytes, toRelay) => {
          client.send(bytes, toRelay ? relayPort : port, '127.0.0.1');
          await new Promise((resolve) => setImmediate(resolve));
        },
      ),
      { numRuns: runs },
    );
    await waitFor(() => plane.stats().receivedPackets >= runs, 'every random datagram', 2000);
    const toPeer = next(peer);
    client.send(Buffer.from([0x40, 0x01, 0, 1, 42]), port, '127.0.0.1');
    expect([...(await toPeer)]).toEqual([42]);
    expect(up.length).toBeGreaterThan(0);
  });
});

describe('forEachRecord', () => {
  it('ignores a truncated record', () => {
    const record = Buffer.alloc(36 + 4);
    record[1] = 4;
    record.writeUInt32LE(8, 4); // claims 8 bytes, has 4
    const seen: PassedUpPacket[] = [];
    forEachRecord(record, (p) => seen.push(p));
    expect(seen).toEqual([]);
  });
});
