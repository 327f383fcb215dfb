/**
 * The lingering close of native streams (linger.c), over real loopback sockets: a stream closed
 * after an answer (closeStream(handle, true)) sends what is queued, then a TLS stream's
 * close_notify, then a FIN, and reads and drops what the client still sends until the client's
 * end, so that a client still sending gets the whole answer instead of a reset. It is bounded:
 * closed after `lingerMs` without progress, or 6 × `lingerMs` in all. Without `linger`, and with
 * `lingerMs` 0, a stream gets one last write and is closed at once, as before.
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../../test/helpers/certs.js';
import type { TestCertificate } from '../../../test/helpers/certs.js';
import {
  EMPTY,
  MiB,
  adopt,
  bytes,
  channelData,
  cleanups,
  delay,
  describeNative,
  framesOf,
  openFds,
  openPlane,
  pausedServer,
  receiver,
  runCleanups,
  stun,
  waitFor,
} from './test-support.js';
import type { PausedServer, Plane, Received } from './test-support.js';
import { TLS12_CIPHERS } from './test-ciphers.js';

afterEach(runCleanups);

let server: PausedServer;
let cert: TestCertificate;

beforeAll(async () => {
  server = await pausedServer();
  cert = makeSelfSignedCert();
});

afterAll(() => {
  server.close();
  cert.cleanup();
});

/** A client as the test sees it: what it received, and how its connection ended. */
interface Client extends Received {
  readonly socket: net.Socket;
  /** 'end' seen: the server's FIN (or close_notify), not a reset. */
  ended: boolean;
  closed: boolean;
  readonly errors: string[];
}

function track(socket: net.Socket): Client {
  const client: Client = { socket, ended: false, closed: false, errors: [], ...receiver(socket) };
  socket.on('end', () => (client.ended = true));
  socket.on('close', () => (client.closed = true));
  socket.on('error', (e: Error) => client.errors.push(e.message));
  return client;
}

/** A TCP client served by `worker` as stream `id`; it reads from the start unless `paused`. */
async function tcpClient(
  p: Plane,
  id: number,
  paused = false,
): Promise<{ client: Client; handle: number }> {
  const { raw, serverSide } = await server.connect(paused);
  const handle = adopt(p.plane, serverSide, 0, id);
  const client = track(raw);
  if (!paused) client.read();
  return { client, handle };
}

/** Writes 16 KiB chunks of `chunk()` until `stop()` or the connection ends. */
function keepSending(client: Client, chunk: () => Buffer): { stop(): Promise<void> } {
  const state = { stopped: false };
  const sending = (async () => {
    while (!state.stopped && !client.ended && !client.closed && client.socket.writable) {
      if (!client.socket.write(chunk())) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          client.socket.once('drain', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      } else await delay(1);
    }
  })();
  cleanups.push(() => (state.stopped = true));
  return {
    stop: () => {
      state.stopped = true;
      return sending;
    },
  };
}

const lingering = (p: Plane): number => p.plane.stats().lingering;

/** A TLS context of the test certificate on `p`. */
function tlsContext(p: Plane): number {
  return p.plane.tlsContext(readFileSync(cert.certFile), readFileSync(cert.keyFile), TLS12_CIPHERS);
}

/**
 * While `client` (stream `id`, `seed` varies its bytes) keeps sending valid frames, queues a
 * 300 KB answer and closes the stream with linger: the client must get the whole answer, then
 * its end (`what`), with no reset, and the linger must be over after that.
 */
async function answerWhileSending(
  p: Plane,
  client: Client,
  handle: number,
  id: number,
  seed: number,
  what: string,
): Promise<void> {
  // Valid frames, passed up (no allocation): the stream stays open while they flow.
  const sender = keepSending(client, () => channelData(0x4000, bytes(16 * 1024 - 4, seed)).wire);
  await waitFor(() => framesOf(p.up, id).length > 8, 'frames up');
  const answer = bytes(300_000, 40 + seed);
  p.plane.sendToStream(handle, answer, false);
  p.plane.closeStream(handle, true);
  await waitFor(() => client.ended, what, 5000);
  await sender.stop();
  expect(client.errors).toEqual([]);
  expect(client.received().equals(answer)).toBe(true);
  await waitFor(() => lingering(p) === 0, 'the linger over');
}

describeNative('lingering close: the last words arrive', () => {
  it('closeStream with 4 MiB queued: a client that reads late gets all of it, then a FIN', async () => {
    const p = openPlane(1);
    const { client, handle } = await tcpClient(p, 1, true);
    const answer = bytes(4 * MiB, 7);
    expect(p.plane.sendToStream(handle, answer, false)).toBe('sent');
    expect(p.plane.closeStream(handle, true)).toBe(true); // same turn: all of it still queued
    expect(lingering(p)).toBe(1);
    await delay(100);
    client.read();
    await waitFor(() => client.ended, 'the FIN', 5000);
    expect(client.size()).toBe(answer.length);
    expect(client.received().equals(answer)).toBe(true);
    expect(client.errors).toEqual([]);
    // The client's end (allowHalfOpen is off) ends the linger.
    await waitFor(() => client.closed && lingering(p) === 0, 'the linger over');
  });

  it('closeStream while the client keeps sending: the answer whole, a FIN, no reset', async () => {
    for (let round = 0; round < 3; round++) {
      const p = openPlane(1);
      const id = 10 + round;
      const { client, handle } = await tcpClient(p, id);
      await answerWhileSending(p, client, handle, id, round, 'the FIN');
    }
  });

  it('TLS: closeStream while the client sends: the answer, a close_notify, no reset', async () => {
    const p = openPlane(1);
    const context = tlsContext(p);
    for (const [i, version] of (['TLSv1.2', 'TLSv1.3'] as const).entries()) {
      const { raw, serverSide } = await server.connect();
      const handle = adopt(p.plane, serverSide, 0, 20 + i, EMPTY, context);
      const socket = tls.connect({
        socket: raw,
        rejectUnauthorized: false,
        minVersion: version,
        maxVersion: version,
      });
      cleanups.push(() => socket.destroy());
      const client = track(socket);
      client.read();
      await new Promise((resolve) => socket.once('secureConnect', resolve));
      socket.write(stun(0x0001, 0)); // a TLS client's first frame must be STUN
      await answerWhileSending(p, client, handle, 20 + i, 20 + i, 'the close_notify');
    }
  });
});

describeNative('lingering close: bounded', () => {
  it('a client that neither reads nor ends is closed after lingerMs without progress', async () => {
    const p = openPlane(1, 200);
    const before = openFds();
    const { client, handle } = await tcpClient(p, 1, true);
    p.plane.sendToStream(handle, bytes(8 * MiB), false); // more than the sockets' buffers hold
    const start = Date.now();
    p.plane.closeStream(handle, true);
    expect(lingering(p)).toBe(1);
    await waitFor(() => lingering(p) === 0, 'the linger over', 3000);
    const took = Date.now() - start;
    expect(took).toBeGreaterThanOrEqual(150); // 200 ms, checked every 250 ms at most
    expect(took).toBeLessThan(2000);
    client.socket.destroy();
    await waitFor(() => openFds() <= before, 'descriptors back');
  });

  it('a client that keeps sending but never reads: closed at 6 × lingerMs in all', async () => {
    const p = openPlane(1, 200);
    const { client, handle } = await tcpClient(p, 1, true);
    p.plane.sendToStream(handle, bytes(8 * MiB), false);
    const start = Date.now();
    p.plane.closeStream(handle, true);
    // A frame every 50 ms: progress the linger reads, again and again.
    const timer = setInterval(() => client.socket.write(channelData(0x4000, bytes(100)).wire), 50);
    cleanups.push(() => clearInterval(timer));
    await waitFor(() => lingering(p) === 0, 'the linger over', 5000);
    clearInterval(timer);
    const took = Date.now() - start;
    expect(took).toBeGreaterThanOrEqual(1100);
    expect(took).toBeLessThan(3000);
  });

  it.each([
    ['closeStream without linger', undefined, false],
    ['lingerMs 0', 0, true],
  ] as const)('%s: one attempt to send, then closed at once', async (_, lingerMs, linger) => {
    const p = openPlane(1, lingerMs);
    const { client, handle } = await tcpClient(p, 1, true);
    const answer = bytes(8 * MiB);
    p.plane.sendToStream(handle, answer, false);
    p.plane.closeStream(handle, linger);
    expect(lingering(p)).toBe(0);
    client.read();
    await waitFor(() => client.closed, 'the close');
    expect(client.size()).toBeLessThan(answer.length);
    expect(client.received().equals(answer.subarray(0, client.size()))).toBe(true);
  });

  it('a TLS stream closed before its handshake is closed at once, without lingering', async () => {
    const p = openPlane(1);
    const context = tlsContext(p);
    const { raw, serverSide } = await server.connect();
    const handle = adopt(p.plane, serverSide, 0, 1, EMPTY, context);
    const client = track(raw);
    client.read();
    p.plane.closeStream(handle, true);
    expect(lingering(p)).toBe(0);
    await waitFor(() => client.closed, 'the close');
    expect(client.size()).toBe(0);
  });

  it('closing the plane closes lingering connections: no descriptor left', async () => {
    const before = openFds();
    const p = openPlane(2, 60_000);
    const clients: Client[] = [];
    for (let id = 1; id <= 10; id++) {
      const { client, handle } = await tcpClient(p, id, true);
      p.plane.sendToStream(handle, bytes(4 * MiB), false);
      p.plane.closeStream(handle, true);
      clients.push(client);
    }
    expect(lingering(p)).toBe(10);
    p.plane.close();
    for (const client of clients) client.read();
    await waitFor(() => clients.every((c) => c.closed), 'every client closed');
    for (const client of clients) client.socket.destroy();
    await waitFor(() => openFds() <= before, 'descriptors back');
  });
});
