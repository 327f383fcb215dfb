/**
 * TLS clients of the native data plane, over real loopback sockets with Node's TLS client: a TCP
 * connection accepted by Node is handed to a worker before the handshake (adoptStream with a
 * TLS context, with the ciphertext Node already read), which does the handshake (TLS 1.2 and
 * 1.3, ALPN "stun.turn"), decrypts and splits the stream into frames like a TCP stream's,
 * refuses first bytes that are no STUN (an HTTP request), encrypts what JavaScript and the
 * relayed peers send, ends the connection on a TLS failure or bad framing, and ends it with a
 * close_notify on closeStream.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../../test/helpers/certs.js';
import type { TestCertificate } from '../../../test/helpers/certs.js';
import {
  EMPTY,
  MiB,
  Wire,
  adopt,
  allocation,
  bytes,
  channelData,
  cleanups,
  dataIndication,
  delay,
  describeNative,
  endOf,
  endsWithCloseNotify,
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
  records,
  runCleanups,
  sendIndication,
  stun,
  streamSender,
  udpPeer,
  waitFor,
  write,
} from './test-support.js';
import { TLS12_CIPHERS } from './test-ciphers.js';
import type { PausedServer, Plane, Received } from './test-support.js';
import type { PassedUpPacket } from './index.js';

/** The content type of a TLS handshake record (RFC 8446 §5.1). */
const HANDSHAKE = 22;

afterEach(runCleanups);

let cert: TestCertificate;
let certPem: Buffer;
let keyPem: Buffer;

// ---- the plane and what it passes up -----------------------------------------------------------

interface TlsPlane extends Plane {
  /** A TLS context made from the test certificate. */
  readonly context: number;
}

/** A plane of `threads` workers (closed after the test) and a context of the test certificate. */
function openTlsPlane(threads = 2): TlsPlane {
  const p = openPlane(threads);
  return { ...p, context: p.plane.tlsContext(certPem, keyPem, TLS12_CIPHERS) };
}

/** The first bytes of stream client `id` refused (passed up as no STUN). */
function refusedOf(up: readonly PassedUpPacket[], id: number): PassedUpPacket[] {
  return up.filter((p) => p.source === 'stream-refused' && p.id === id);
}

/** What a call threw: its code and message. */
function thrown(fn: () => unknown): { code?: string | undefined; message: string } | undefined {
  try {
    fn();
  } catch (error) {
    const e = error as { code?: string | undefined; message: string };
    return { code: e.code, message: e.message };
  }
  return undefined;
}

// ---- TCP connections ---------------------------------------------------------------------------

// Node reads an accepted socket only when a test says so.
let server: PausedServer;

beforeAll(async () => {
  cert = makeSelfSignedCert();
  certPem = readFileSync(cert.certFile);
  keyPem = readFileSync(cert.keyFile);
  server = await pausedServer();
});

afterAll(() => {
  server.close();
  cert.cleanup();
});

/** A TLS client as the test sees it. */
interface TlsClient extends Received {
  readonly socket: tls.TLSSocket;
  readonly wire: Wire;
  /** 'end' seen: the stream ended (close_notify or FIN). */
  ended: boolean;
  /** The TCP connection closed. */
  closed: boolean;
  /** Errors seen before 'end'. */
  readonly errors: string[];
}

interface TlsOptions {
  readonly maxVersion?: tls.SecureVersion | undefined;
  readonly minVersion?: tls.SecureVersion | undefined;
  readonly alpn?: string[] | undefined;
  readonly ciphers?: string | undefined;
  readonly read?: boolean | undefined;
  /**
   * Undefined: adopted before the client sends anything. A number: the client's first write is
   * sent in two parts, the first `handOver` bytes read by Node and handed over with the
   * connection. 'all': the whole first chunk Node reads is handed over.
   */
  readonly handOver?: number | 'all' | undefined;
  readonly context?: number | undefined;
}

interface TlsConnection {
  readonly client: TlsClient;
  readonly handle: number;
  /** The ciphertext Node read and handed over. */
  readonly handedOver: Buffer;
  /** 'secure', or what ended the handshake ('closed', an error message, a timeout). */
  readonly handshake: Promise<string>;
}

/** A TLS client whose connection `worker` serves as stream client `id` (the handshake runs). */
async function tlsClient(p: TlsPlane, worker: number, id: number, o: TlsOptions = {}) {
  const { raw, serverSide } = await server.connect();
  const wire = new Wire(raw, typeof o.handOver === 'number' ? o.handOver : undefined);
  const context = o.context ?? p.context;
  const handOver =
    o.handOver === undefined
      ? Promise.resolve({
          handle: adopt(p.plane, serverSide, worker, id, EMPTY, context),
          bytes: EMPTY,
        })
      : new Promise<{ handle: number; bytes: Buffer }>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no ClientHello within 2 s')), 2000);
          serverSide.once('data', (chunk: Buffer) => {
            clearTimeout(timer);
            resolve({
              handle: adopt(p.plane, serverSide, worker, id, chunk, context),
              bytes: chunk,
            });
          });
          serverSide.resume();
        });
  const socket = tls.connect({
    socket: wire,
    rejectUnauthorized: false,
    ALPNProtocols: o.alpn,
    minVersion: o.minVersion,
    maxVersion: o.maxVersion,
    ciphers: o.ciphers,
  });
  cleanups.push(() => socket.destroy());
  const client: TlsClient = {
    socket,
    wire,
    ended: false,
    closed: false,
    errors: [],
    ...receiver(socket),
  };
  socket.on('error', (e: Error) => {
    if (!client.ended) client.errors.push(e.message);
  });
  socket.on('end', () => (client.ended = true));
  raw.on('close', () => (client.closed = true));
  if (o.read ?? true) client.read();
  const handshake = new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('no handshake within 3 s'), 3000);
    const done = (outcome: string): void => {
      clearTimeout(timer);
      resolve(outcome);
    };
    socket.once('secureConnect', () => done('secure'));
    socket.once('error', (e: Error) => done(e.message));
    socket.once('close', () => done('closed'));
  });
  const { handle, bytes } = await handOver;
  cleanups.push(() => {
    p.plane.closeStream(handle);
  });
  return { client, handle, handedOver: bytes, handshake } satisfies TlsConnection;
}

/**
 * A TLS client whose side of the handshake is complete (in TLS 1.3 the worker's may still wait
 * for the client's Finished: a frame passed up shows it is complete too).
 */
async function tlsAdopted(
  p: TlsPlane,
  worker: number,
  id: number,
  o: TlsOptions = {},
): Promise<TlsConnection> {
  const connection = await tlsClient(p, worker, id, o);
  expect(await connection.handshake).toBe('secure');
  return connection;
}

// ---- the tests ---------------------------------------------------------------------------------

const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

describeNative('native TLS stream clients: handshake and frames', () => {
  it.each(VERSIONS)('%s: splits frames of records written byte by byte, in order', async (v) => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 1, 11, { maxVersion: v });
    expect(client.socket.getProtocol()).toBe(v);
    if (v === 'TLSv1.2') expect(TLS12_CIPHERS.split(':')).toContain(client.socket.getCipher().name);
    const frames = mixedFrames();
    for (const [i, { wire }] of frames.entries()) {
      for (const byte of wire) {
        // Nothing of frame i (or its padding) may go up before its last byte is written.
        expect(framesOf(p.up, 11).length).toBe(i);
        await write(client, Buffer.from([byte])); // one TLS record per byte
        await delay(1);
      }
      await waitFor(() => framesOf(p.up, 11).length === i + 1, `frame ${i} up`);
    }
    expect(hex(framesOf(p.up, 11))).toEqual(hex(frames.map((f) => f.frame)));
    const record = p.up.find((r) => r.source === 'stream')!;
    expect(record).toMatchObject({ id: 11, worker: 1, port: 0 });
    expect([...record.address]).toEqual([0, 0, 0, 0]);
    expect(endOf(p.up, 11)).toBeUndefined();
    expect(refusedOf(p.up, 11)).toEqual([]);
    expect(client.closed).toBe(false);
  });

  it.each(VERSIONS)('%s: splits many frames across records and reads, intact', async (v) => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 0, 12, { maxVersion: v });
    const { expected, wire } = randomFrames(12345, 600, [stun(0x0003, bytes(16, 12345))]);
    expect(wire.length).toBeGreaterThan(256 * 1024); // more than one read of the worker
    // Frames written right after the handshake, in one write and in odd slices.
    await write(client, wire.subarray(0, 100_000));
    for (let off = 100_000; off < wire.length; off += 7919) {
      await write(client, wire.subarray(off, Math.min(off + 7919, wire.length)));
    }
    await waitFor(() => framesOf(p.up, 12).length === expected.length, 'all frames up', 5000);
    expectFrames(framesOf(p.up, 12), expected);
    expect(p.plane.stats().passedUpDropped).toBe(0);
    expect(endOf(p.up, 12)).toBeUndefined();
  });

  it('a client closing with close_notify ends the stream as closed, after its frames', async () => {
    const p = openTlsPlane();
    const { client, handle } = await tlsAdopted(p, 1, 13);
    const frame = stun(0x0001, 4);
    await write(client, frame);
    client.socket.end();
    await waitFor(() => endOf(p.up, 13) !== undefined, 'stream-end');
    expect([...endOf(p.up, 13)!.data]).toEqual([0]);
    expect(hex(framesOf(p.up, 13))).toEqual(hex([frame]));
    expect(p.plane.sendToStream(handle, bytes(4), false)).toBe('gone');
    expect(p.plane.closeStream(handle)).toBe(true);
    expect(p.plane.closeStream(handle)).toBe(false);
  });

  it.each([
    ["['stun.turn']", "'stun.turn'", ['stun.turn'], 'stun.turn'],
    ["['h2', 'stun.turn']", "'stun.turn'", ['h2', 'stun.turn'], 'stun.turn'],
    ["['h2']", 'none', ['h2'], false],
    ['no ALPN', 'none', undefined, false],
  ] as const)('ALPN: a client offering %s gets %s and is served', async (_, __, alpn, selected) => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 0, 14, { alpn: alpn && [...alpn] });
    expect(client.socket.alpnProtocol).toBe(selected);
    const frame = stun(0x0001, 8);
    await write(client, frame);
    await waitFor(() => framesOf(p.up, 14).length === 1, 'a frame');
    expect(hex(framesOf(p.up, 14))).toEqual(hex([frame]));
  });

  it('keeps to the policy: no TLS 1.1, no TLS 1.2 suite outside the list', async () => {
    const p = openTlsPlane();
    const old = await tlsClient(p, 0, 15, {
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    expect(await old.handshake).not.toBe('secure');
    await waitFor(() => endOf(p.up, 15) !== undefined, 'stream-end of the TLS 1.1 client');
    expect([...endOf(p.up, 15)!.data]).toEqual([2]);
    const cbc = await tlsClient(p, 1, 16, {
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES128-SHA256:AES128-GCM-SHA256',
    });
    expect(await cbc.handshake).not.toBe('secure');
    await waitFor(() => endOf(p.up, 16) !== undefined, 'stream-end of the CBC client');
    expect([...endOf(p.up, 16)!.data]).toEqual([2]);
    expect(framesOf(p.up, 15).length + framesOf(p.up, 16).length).toBe(0);
  });
  it('refuses a TLS 1.2 renegotiation: the client gives up, the stream ends', async () => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 0, 17, { maxVersion: 'TLSv1.2' });
    const frame = stun(0x0001, 4);
    await write(client, frame);
    await waitFor(() => framesOf(p.up, 17).length === 1, 'a frame');
    const renegotiated = new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('no answer within 3 s'), 3000);
      client.socket.renegotiate({ rejectUnauthorized: false }, (error) => {
        clearTimeout(timer);
        resolve(error ? 'failed' : 'renegotiated');
      });
      client.socket.once('close', () => resolve('failed'));
    });
    await waitFor(() => endOf(p.up, 17) !== undefined, 'stream-end');
    expect([0, 2]).toContain(endOf(p.up, 17)!.data[0]);
    expect(await renegotiated).toBe('failed');
    expect(client.errors.join()).toMatch(/no renegotiation/);
    expect(hex(framesOf(p.up, 17))).toEqual(hex([frame]));
  });
});

describeNative('native TLS stream clients: bytes read before the handover', () => {
  const cases: [string, TlsOptions][] = [];
  for (const v of VERSIONS) {
    for (const split of [1, 5, 6, 60])
      cases.push([
        `${v}: the first ${split} bytes of the ClientHello`,
        { handOver: split, maxVersion: v },
      ]);
    cases.push([`${v}: the whole ClientHello`, { handOver: 'all', maxVersion: v }]);
  }

  it.each(cases)('%s handed over with the connection', async (_, options) => {
    const p = openTlsPlane();
    const { client, handedOver } = await tlsAdopted(p, 1, 21, options);
    expect(handedOver[0]).toBe(HANDSHAKE); // it was the ClientHello's start…
    if (typeof options.handOver === 'number') expect(handedOver.length).toBe(options.handOver);
    else expect(records(handedOver).size).toBe(handedOver.length); // …or all of it
    expect(client.socket.getProtocol()).toBe(options.maxVersion);
    const first = stun(0x0003, bytes(8));
    const cd = channelData(0x4001, bytes(3, 9));
    await write(client, Buffer.concat([first, cd.wire]));
    await waitFor(() => framesOf(p.up, 21).length === 2, 'frames after the handshake');
    expect(hex(framesOf(p.up, 21))).toEqual(hex([first, cd.frame]));
    expect(endOf(p.up, 21)).toBeUndefined();
  });

  it('writes what JavaScript queued before the handshake, once it is done', async () => {
    const p = openTlsPlane();
    const { raw, serverSide } = await server.connect();
    const handle = adopt(p.plane, serverSide, 0, 22, EMPTY, p.context);
    cleanups.push(() => {
      p.plane.closeStream(handle);
    });
    expect(p.plane.sendToStream(handle, bytes(1000, 3), false)).toBe('sent');
    await delay(30); // flushed while there is no TLS session: the bytes must wait
    const wire = new Wire(raw);
    const socket = tls.connect({ socket: wire, rejectUnauthorized: false });
    cleanups.push(() => socket.destroy());
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    await waitFor(() => Buffer.concat(chunks).length >= 1000, 'the queued bytes', 3000);
    expect(Buffer.concat(chunks).equals(bytes(1000, 3))).toBe(true);
  });
});

describeNative('native TLS stream clients: sending', () => {
  it('writes what JavaScript queues, encrypted, in order; drops only droppable bytes', async () => {
    const p = openTlsPlane();
    const { client, handle } = await tlsAdopted(p, 1, 41);
    const { send, sent: expected } = streamSender(p.plane, handle);
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
    await waitFor(() => client.size() === 2000 * 4 + 3 * MiB + 4, 'every byte', 8000);
    expect(client.received().equals(Buffer.concat(expected))).toBe(true);
    expect(send(bytes(MiB + 1), true)).toBe('dropped'); // too much by itself
    expect(send(bytes(16), true)).toBe('sent'); // nothing waits any more
    p.plane.flushSends();
    await waitFor(() => client.size() === 2000 * 4 + 3 * MiB + 4 + 16, 'the droppable bytes');
    expect(client.received().equals(Buffer.concat(expected))).toBe(true);
  });

  it('counts ciphertext the client does not read: droppable bytes are dropped', async () => {
    const p = openTlsPlane();
    const { client, handle } = await tlsAdopted(p, 0, 42, { read: false });
    await write(client, stun(0x0001, 4)); // the worker's side of the handshake is done
    await waitFor(() => framesOf(p.up, 42).length === 1, 'a frame');
    const { send, sent: expected } = streamSender(p.plane, handle);
    let dropped = false;
    for (let i = 0; i < 64 && !dropped; i++) {
      expect(send(bytes(MiB, i), false)).toBe('sent');
      await delay(20); // written (encrypted) when the turn ended; the rest waits
      dropped = send(bytes(16, 200 + i), true) === 'dropped';
    }
    expect(dropped).toBe(true);
    const total = expected.reduce((n, b) => n + b.length, 0);
    client.read();
    await waitFor(() => client.size() === total, 'every byte sent', 10_000);
    expect(client.received().equals(Buffer.concat(expected))).toBe(true);
    expect(send(bytes(16, 9), true)).toBe('sent'); // nothing waits any more
  });

  it.each(VERSIONS)('%s: closeStream writes the queued bytes, then a close_notify', async (v) => {
    const p = openTlsPlane();
    const { client, handle } = await tlsAdopted(p, 0, 43, { maxVersion: v });
    // A frame up: the worker's side of the handshake is done too (in TLS 1.3 the client's ends
    // first, and nothing can be encrypted before the worker's ends).
    await write(client, stun(0x0001, 4));
    await waitFor(() => framesOf(p.up, 43).length === 1, 'a frame');
    expect(p.plane.sendToStream(handle, bytes(100), false)).toBe('sent');
    expect(p.plane.sendToStream(handle, bytes(70_000, 5), false)).toBe('sent');
    expect(p.plane.closeStream(handle)).toBe(true); // same turn: not flushed yet
    await waitFor(() => client.ended, 'the end of the stream');
    expect(client.received().equals(Buffer.concat([bytes(100), bytes(70_000, 5)]))).toBe(true);
    expect(client.errors).toEqual([]);
    expect(endsWithCloseNotify(client, v)).toBe(true);
    await waitFor(() => client.closed, 'the connection closes');
    expect(p.plane.sendToStream(handle, bytes(4), false)).toBe('gone');
    expect(endOf(p.up, 43)).toBeUndefined();
  });
});

describeNative('native TLS stream clients: relaying', () => {
  it.each(VERSIONS)('%s: relays ChannelData and Send both ways natively', async (v) => {
    const p = openTlsPlane();
    const worker = 1;
    const { client, handle } = await tlsAdopted(p, worker, 51, { maxVersion: v });
    const peer = await udpPeer();
    const other = await udpPeer();
    const relay = p.plane.openRelay(worker, '127.0.0.1', 0, 77)!;
    expect(relay).toBeDefined();
    const alloc = p.plane.program(
      allocation(worker, handle, relay, [{ number: 0x4001, port: peer.port }]),
    );
    expect(alloc).toBeDefined();

    // The first frame is a STUN message (a TLS client's first bytes must be one).
    const request = stun(0x0003, bytes(8));
    const unbound = channelData(0x4002, bytes(1, 9));
    await write(
      client,
      Buffer.concat([
        request,
        channelData(0x4001, bytes(5)).wire,
        unbound.wire,
        channelData(0x4001, bytes(3, 20)).wire,
      ]),
    );
    await waitFor(() => peer.got.length === 2 && framesOf(p.up, 51).length === 2, 'relayed');
    expect(peer.got.map((m) => [...m.data])).toEqual([
      [1, 2, 3, 4, 5],
      [20, 21, 22],
    ]);
    const relayPort = peer.got[0]!.port;
    await delay(30);
    expect(hex(framesOf(p.up, 51))).toEqual(hex([request, unbound.frame]));

    // Peer → client: ChannelData padded to a multiple of 4, encrypted.
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

    // A permitted peer without a channel: a Data indication.
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
    expect(p.plane.take(alloc!)).toEqual({
      fromClientBytes: 5 + 3 + 3,
      fromClientPackets: 3,
      toClientBytes: 5 + 8 + 1 + 5,
      toClientPackets: 4,
    });
    expect(framesOf(p.up, 51).length).toBe(2);

    // Unprogrammed: everything goes up again.
    expect(p.plane.unprogram(alloc!)).toBeDefined();
    const again = channelData(0x4001, bytes(2, 4));
    await write(client, again.wire);
    await waitFor(() => framesOf(p.up, 51).length === 3, 'ChannelData up after unprogram');
    expect(hex(framesOf(p.up, 51))).toEqual(hex([request, unbound.frame, again.frame]));
    expect(peer.got.length).toBe(2);
  });
});

describeNative('native TLS stream clients: refused first bytes', () => {
  const request = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const answer = Buffer.from(
    'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 5\r\n\r\nno!\r\n',
  );

  it.each(VERSIONS)('%s: passes up an HTTP request; the answer and close follow', async (v) => {
    const p = openTlsPlane();
    const { client, handle } = await tlsAdopted(p, 1, 61, { maxVersion: v });
    await write(client, request);
    await waitFor(() => refusedOf(p.up, 61).length > 0, 'stream-refused');
    await delay(30);
    const refused = refusedOf(p.up, 61);
    expect(refused.length).toBe(1);
    expect(refused[0]!.data.toString('latin1')).toBe(request.toString('latin1'));
    expect(refused[0]).toMatchObject({ worker: 1, port: 0 });
    expect(framesOf(p.up, 61)).toEqual([]);
    expect(endOf(p.up, 61)).toBeUndefined();
    expect(client.closed).toBe(false);

    expect(p.plane.sendToStream(handle, answer, false)).toBe('sent');
    expect(p.plane.closeStream(handle)).toBe(true);
    await waitFor(() => client.ended, 'the end of the stream');
    expect(client.received().toString('latin1')).toBe(answer.toString('latin1'));
    expect(client.errors).toEqual([]);
    expect(endsWithCloseNotify(client, v)).toBe(true);
    await waitFor(() => client.closed, 'the connection closes');
    expect(endOf(p.up, 61)).toBeUndefined();
  });

  it('passes up at most 512 bytes of a long request, and reads the stream no more', async () => {
    const p = openTlsPlane();
    const { client, handle } = await tlsAdopted(p, 0, 62);
    const long = Buffer.concat([
      Buffer.from('POST /upload HTTP/1.1\r\nHost: x\r\nX-Pad: '),
      Buffer.alloc(2000, 'a'),
      Buffer.from('\r\n\r\n'),
    ]);
    await write(client, long);
    await waitFor(() => refusedOf(p.up, 62).length > 0, 'stream-refused');
    expect(refusedOf(p.up, 62)[0]!.data.toString('latin1')).toBe(
      long.subarray(0, 512).toString('latin1'),
    );
    // What follows is not read: neither a STUN message nor the end of the stream goes up.
    await write(client, stun(0x0001, 4));
    client.socket.end();
    await delay(100);
    expect(framesOf(p.up, 62)).toEqual([]);
    expect(refusedOf(p.up, 62).length).toBe(1);
    expect(endOf(p.up, 62)).toBeUndefined();
    expect(p.plane.closeStream(handle)).toBe(true);
    await waitFor(() => client.closed, 'the connection closes');
  });

  it('refuses first bytes that are ChannelData (top bits 01), not STUN', async () => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 1, 63);
    const cd = channelData(0x4001, bytes(4));
    await write(client, Buffer.concat([cd.wire, stun(0x0001, 0)]));
    await waitFor(() => refusedOf(p.up, 63).length > 0, 'stream-refused');
    expect(refusedOf(p.up, 63)[0]!.data.toString('hex')).toBe(
      Buffer.concat([cd.wire, stun(0x0001, 0)]).toString('hex'),
    );
    expect(framesOf(p.up, 63)).toEqual([]);
  });

  it('refuses first bytes with the top bits 00 but no magic cookie', async () => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 1, 65);
    const noCookie = Buffer.concat([Buffer.from([0, 1, 0, 4, 0xde, 0xad, 0xbe, 0xef]), bytes(16)]);
    await write(client, noCookie);
    await waitFor(() => refusedOf(p.up, 65).length > 0, 'stream-refused');
    expect(refusedOf(p.up, 65)[0]!.data.toString('hex')).toBe(noCookie.toString('hex'));
    expect(framesOf(p.up, 65)).toEqual([]);
    expect(endOf(p.up, 65)).toBeUndefined();
  });

  it('waits for the magic cookie of a first STUN message that comes a few bytes at a time', async () => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 0, 66);
    const frame = stun(0x0001, 8);
    for (const [from, to] of [
      [0, 3],
      [3, 6],
      [6, 7],
      [7, frame.length],
    ] as const) {
      await write(client, frame.subarray(from, to));
      await delay(20);
    }
    await waitFor(() => framesOf(p.up, 66).length === 1, 'the frame');
    expect(hex(framesOf(p.up, 66))).toEqual(hex([frame]));
    expect(refusedOf(p.up, 66)).toEqual([]);
    // The same start with a wrong byte in the cookie's second half is refused once it comes.
    const other = await tlsAdopted(p, 1, 67);
    const bad = Buffer.from(frame);
    bad[7] = 0x43;
    await write(other.client, bad.subarray(0, 6));
    await delay(20);
    expect(refusedOf(p.up, 67)).toEqual([]);
    await write(other.client, bad.subarray(6));
    await waitFor(() => refusedOf(p.up, 67).length > 0, 'stream-refused');
    expect(refusedOf(p.up, 67)[0]!.data.toString('hex')).toBe(bad.toString('hex'));
  });

  it('does not refuse a later HTTP-looking frame after a first STUN message', async () => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 0, 64);
    const first = stun(0x0001, 4);
    await write(client, first);
    await waitFor(() => framesOf(p.up, 64).length === 1, 'the first frame');
    // 'GE' = 0x4745 is ChannelData framing-wise (length 'T ' = 0x5420): it is split, not refused.
    const get = Buffer.concat([Buffer.from('GET '), Buffer.alloc(0x5420, 0x20)]);
    await write(client, get);
    await waitFor(() => framesOf(p.up, 64).length === 2, 'the second frame');
    expect(framesOf(p.up, 64)[1]!.equals(get)).toBe(true);
    expect(refusedOf(p.up, 64)).toEqual([]);
  });
});

describeNative('native TLS stream clients: failures', () => {
  const garbage: [string, Buffer][] = [
    ['text', Buffer.from('hello, this is no TLS at all\r\n\r\n')],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['a record too long', Buffer.concat([Buffer.from([22, 3, 1, 0xff, 0xff]), Buffer.alloc(64)])],
    // A ServerHello (handshake type 2) where a ClientHello belongs.
    ['a handshake that is no ClientHello', Buffer.from([22, 3, 1, 0, 8, 2, 0, 0, 4, 3, 3, 0, 0])],
    ['an alert', Buffer.from([21, 3, 3, 0, 2, 2, 40])],
  ];
  const cases: [string, string, Buffer][] = garbage.flatMap(([what, b]) => [
    [what, 'sent', b],
    [what, 'handed over', b],
  ]);

  it.each(cases)('ends the stream as a TLS failure on %s %s', async (_, how, junk) => {
    const p = openTlsPlane();
    const { raw, serverSide } = await server.connect();
    let closed = false;
    raw.on('close', () => (closed = true));
    raw.resume();
    const handle = adopt(p.plane, serverSide, 1, 71, how === 'sent' ? EMPTY : junk, p.context);
    cleanups.push(() => {
      p.plane.closeStream(handle);
    });
    if (how === 'sent') raw.write(junk);
    await waitFor(() => endOf(p.up, 71) !== undefined, 'stream-end');
    expect([...endOf(p.up, 71)!.data]).toEqual([2]);
    await waitFor(() => closed, 'the client sees the connection closed');
    expect(framesOf(p.up, 71)).toEqual([]);
    expect(refusedOf(p.up, 71)).toEqual([]);
    expect(p.plane.sendToStream(handle, bytes(4), false)).toBe('gone');
    expect(p.plane.closeStream(handle)).toBe(true);
    expect(p.plane.closeStream(handle)).toBe(false);
  });

  it('ends the stream when the client leaves in the middle of the handshake', async () => {
    const p = openTlsPlane();
    // (a) Part of the ClientHello, then FIN.
    const a = await tlsClient(p, 0, 72, { handOver: 20 });
    a.client.wire.raw.end();
    // (b) The client is gone as the server's first flight arrives (TLS 1.2: before its end).
    const b = await tlsClient(p, 1, 73, { maxVersion: 'TLSv1.2' });
    b.client.wire.raw.prependListener('data', () => b.client.wire.raw.destroy());
    await waitFor(() => b.client.wire.inbound.length > 0, "the server's first flight");
    // (c) The whole ClientHello handed over, the client gone before the worker answers.
    const c = await tlsClient(p, 0, 74, { handOver: 'all' });
    c.client.wire.raw.destroy();
    for (const id of [72, 73, 74]) {
      await waitFor(() => endOf(p.up, id) !== undefined, `stream-end of ${id}`);
      expect([...endOf(p.up, id)!.data], `the end of ${id}: a TLS failure`).toEqual([2]);
      expect(framesOf(p.up, id)).toEqual([]);
    }
    expect(await a.handshake).not.toBe('secure');
    expect(await b.handshake).not.toBe('secure');
  });

  it.each(VERSIONS)(
    '%s: a client gone after its handshake without a frame ends silent',
    async (v) => {
      const p = openTlsPlane();
      // (a) close_notify and FIN right after the handshake; (b) the same after 5 bytes of STUN;
      // (c) a reset after the handshake.
      const a = await tlsAdopted(p, 0, 77, { maxVersion: v });
      a.client.socket.end();
      const b = await tlsAdopted(p, 1, 78, { maxVersion: v });
      await write(b.client, stun(0x0001, 4).subarray(0, 5));
      await delay(20);
      b.client.socket.end();
      const c = await tlsAdopted(p, 0, 79, { maxVersion: v });
      await delay(20);
      c.client.wire.raw.resetAndDestroy();
      for (const id of [77, 78, 79]) {
        await waitFor(() => endOf(p.up, id) !== undefined, `stream-end of ${id}`);
        expect([...endOf(p.up, id)!.data], `the end of ${id}: silent`).toEqual([3]);
        expect(framesOf(p.up, id)).toEqual([]);
        expect(refusedOf(p.up, id)).toEqual([]);
      }
    },
  );

  it.each(VERSIONS)('%s: ends the stream on bad framing after the handshake', async (v) => {
    const p = openTlsPlane();
    const { client, handle } = await tlsAdopted(p, 1, 75, { maxVersion: v });
    const valid = stun(0x0001, 4);
    await write(client, Buffer.concat([valid, Buffer.from([0xc0, 0, 0, 0]), stun(0x0001, 0)]));
    await waitFor(() => endOf(p.up, 75) !== undefined, 'stream-end');
    expect([...endOf(p.up, 75)!.data]).toEqual([1]);
    expect(hex(framesOf(p.up, 75))).toEqual(hex([valid])); // not the frame after the bad one
    await waitFor(() => client.closed, 'the client sees the connection closed');
    expect(p.plane.sendToStream(handle, bytes(4), false)).toBe('gone');
    expect(p.plane.closeStream(handle)).toBe(true);
  });

  it.each(VERSIONS)('%s: ends the stream on a bad record after the handshake', async (v) => {
    const p = openTlsPlane();
    const { client } = await tlsAdopted(p, 0, 76, { maxVersion: v });
    const valid = stun(0x0001, 4);
    await write(client, valid);
    await waitFor(() => framesOf(p.up, 76).length === 1, 'a frame');
    // An application_data record that does not decrypt (sent under the client's TLS).
    client.wire.raw.write(Buffer.concat([Buffer.from([23, 3, 3, 0, 40]), bytes(40, 0x33)]));
    await waitFor(() => endOf(p.up, 76) !== undefined, 'stream-end');
    expect([...endOf(p.up, 76)!.data]).toEqual([2]);
    expect(hex(framesOf(p.up, 76))).toEqual(hex([valid]));
    await waitFor(() => client.closed, 'the client sees the connection closed');
  });
});

describeNative('native TLS stream clients: contexts', () => {
  it('refuses a bad certificate or key with ERR_DATAPLANE_TLS and the reason', () => {
    const { plane } = openTlsPlane();
    const other = makeSelfSignedCert('other');
    cleanups.push(() => other.cleanup());
    const otherKey = readFileSync(other.keyFile);
    const rsaKey = Buffer.from(
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }),
    );
    const badKey = Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    const garbage = Buffer.from('this is no certificate\n');
    const truncated = certPem.subarray(0, certPem.length / 2);
    const cases: [string, Buffer, Buffer, string, RegExp][] = [
      ['a bad key', certPem, badKey, TLS12_CIPHERS, /^tls private key: ./],
      ['no key', certPem, EMPTY, TLS12_CIPHERS, /^tls (context|private key): ./],
      ['the key of another certificate', certPem, otherKey, TLS12_CIPHERS, /^tls private key: ./],
      ['an RSA key for an EC certificate', certPem, rsaKey, TLS12_CIPHERS, /^tls private key: ./],
      ['a garbage certificate', garbage, keyPem, TLS12_CIPHERS, /^tls certificate: ./],
      ['a truncated certificate', truncated, keyPem, TLS12_CIPHERS, /^tls certificate: ./],
      ['no certificate', EMPTY, keyPem, TLS12_CIPHERS, /^tls (context|certificate): ./],
      ['the key as certificate', keyPem, keyPem, TLS12_CIPHERS, /^tls certificate: ./],
      ['no known cipher', certPem, keyPem, 'NO-SUCH-CIPHER', /^tls ciphers: ./],
    ];
    for (const [what, c, k, ciphers, message] of cases) {
      const error = thrown(() => plane.tlsContext(c, k, ciphers));
      expect(error?.code, what).toBe('ERR_DATAPLANE_TLS');
      expect(error?.message, what).toMatch(message);
    }
    // The failures left nothing behind: the other certificate's own key works.
    const otherCert = readFileSync(other.certFile);
    expect(typeof plane.tlsContext(otherCert, otherKey, TLS12_CIPHERS)).toBe('number');
  });

  it('serves a stream whose context is freed, and refuses a freed context id', async () => {
    const p = openTlsPlane();
    const context = p.plane.tlsContext(certPem, keyPem, TLS12_CIPHERS);
    const { raw, serverSide } = await server.connect();
    const handle = adopt(p.plane, serverSide, 0, 81, EMPTY, context);
    cleanups.push(() => {
      p.plane.closeStream(handle);
    });
    p.plane.freeTlsContext(context);
    const { serverSide: next } = await server.connect();
    expect(thrown(() => p.plane.adoptStream(0, fdOf(next), 82, EMPTY, context))?.code).toBe(
      'ERR_DATAPLANE_ARGUMENT',
    );
    expect(thrown(() => p.plane.adoptStream(0, fdOf(next), 82, EMPTY, 64))?.code).toBe(
      'ERR_DATAPLANE_ARGUMENT',
    );
    // The stream adopted with it still does its handshake.
    const socket = tls.connect({ socket: new Wire(raw), rejectUnauthorized: false });
    cleanups.push(() => socket.destroy());
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no handshake within 3 s')), 3000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const frame = stun(0x0001, 4);
    socket.write(frame);
    await waitFor(() => framesOf(p.up, 81).length === 1, 'a frame');
    expect(hex(framesOf(p.up, 81))).toEqual(hex([frame]));
  });

  it('serves each stream with the certificate of its context (EC and RSA)', async () => {
    const p = openTlsPlane();
    const dir = mkdtempSync(path.join(tmpdir(), 'dataplane-rsa-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const rsaCertFile = path.join(dir, 'cert.pem');
    const rsaKeyFile = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=rsa-test',
        '-days',
        '2',
      ].concat(['-keyout', rsaKeyFile, '-out', rsaCertFile]),
      { stdio: 'pipe', timeout: 20_000 },
    );
    const rsaCert = readFileSync(rsaCertFile);
    const rsa = p.plane.tlsContext(rsaCert, readFileSync(rsaKeyFile), TLS12_CIPHERS);
    expect(rsa).not.toBe(p.context);
    const fingerprint = (pem: Buffer): string => new X509Certificate(pem).fingerprint256;
    for (const [i, v] of VERSIONS.entries()) {
      const ec = await tlsAdopted(p, 0, 91 + 2 * i, { maxVersion: v });
      const viaRsa = await tlsAdopted(p, 1, 92 + 2 * i, { maxVersion: v, context: rsa });
      expect(ec.client.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(certPem));
      expect(viaRsa.client.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(rsaCert));
      if (v === 'TLSv1.2') {
        expect(ec.client.socket.getCipher().name).toMatch(/^ECDHE-ECDSA-/);
        expect(viaRsa.client.socket.getCipher().name).toMatch(/^ECDHE-RSA-/);
      }
      const frame = stun(0x0001, 4);
      await write(viaRsa.client, frame);
      await waitFor(() => framesOf(p.up, 92 + 2 * i).length === 1, 'a frame over RSA');
    }
  });

  it('holds 64 contexts; a freed one makes room', () => {
    const { plane } = openTlsPlane(1); // its own context is the first
    const ids = [];
    for (let i = 1; i < 64; i++) ids.push(plane.tlsContext(certPem, keyPem, TLS12_CIPHERS));
    expect(new Set(ids).size).toBe(63);
    expect(thrown(() => plane.tlsContext(certPem, keyPem, TLS12_CIPHERS))).toBeDefined();
    plane.freeTlsContext(ids[10]!);
    expect(plane.tlsContext(certPem, keyPem, TLS12_CIPHERS)).toBe(ids[10]);
  });
});

describeNative('native TLS stream clients: many at once', () => {
  it('serves 50 concurrent TLS clients; closing the plane leaks no descriptor', async () => {
    const before = openFds();
    const p = openTlsPlane();
    const count = 50;
    const connections = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        tlsClient(p, i % 2, 100 + i, {
          maxVersion: VERSIONS[i % 2],
          handOver: i % 3 === 0 ? 'all' : undefined,
        }),
      ),
    );
    const outcomes = await Promise.all(connections.map((c) => c.handshake));
    expect(outcomes).toEqual(connections.map(() => 'secure'));
    const expected = connections.map((_, i) => {
      const frames: Buffer[] = [];
      const wire: Buffer[] = [];
      for (let k = 0; k < 20; k++) {
        const body = Buffer.alloc(8 + 4 * (k % 5));
        body.writeUInt32BE(i, 0);
        body.writeUInt32BE(k, 4);
        if (k % 2 === 0) {
          frames.push(stun(0x0001, body));
          wire.push(frames.at(-1)!);
        } else {
          const cd = channelData(0x4000 + i, body.subarray(0, 5 + (k % 3)));
          frames.push(cd.frame);
          wire.push(cd.wire);
        }
      }
      return { frames, wire };
    });
    await Promise.all(
      connections.map(async ({ client }, i) => {
        for (const w of expected[i]!.wire) await write(client, w);
      }),
    );
    await waitFor(
      () => connections.every((_, i) => framesOf(p.up, 100 + i).length === 20),
      'every frame of every client',
      8000,
    );
    for (let i = 0; i < count; i++) expectFrames(framesOf(p.up, 100 + i), expected[i]!.frames);
    expect(p.up.filter((r) => r.source !== 'stream')).toEqual([]);
    expect(p.plane.stats().streamsAdopted).toBe(count);

    p.plane.close();
    await waitFor(
      () => connections.every((c) => c.client.closed),
      'every client sees its connection closed',
    );
    for (const c of connections) c.client.socket.destroy();
    await delay(20);
    expect(openFds()).toBe(before);
  });
});
