/**
 * Helpers shared by the data plane's tests (index, stream, stream-tls, stream-pipe, fuzz): the
 * addon and a plane with what it passes up, waiting, TCP connections handed to a worker, the
 * wire under a TLS client, frames, UDP peers and allocations. Test-only:
 * packages/dataplane/tsconfig.json leaves it out of the build.
 */
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { describe, expect } from 'vitest';
import {
  MessageClass,
  Method,
  attr,
  data as dataAttr,
  encodeMessage,
  xorPeerAddress,
} from '@cloudproxy/stun';
import { dataPlaneUnavailableReason, loadDataPlane } from './index.js';
import type { DataPlane, DataPlaneAddon, NativeAllocation, PassedUpPacket } from './index.js';

// ---- the addon ---------------------------------------------------------------------------------

/** The addon, or undefined where it is not built or cannot load (the reason goes to stderr). */
export const addon = loadDataPlane();
/** `describe` where the addon loads, `describe.skip` elsewhere. */
export const describeNative = addon ? describe : describe.skip;
if (!addon) process.stderr.write(`skipping: ${dataPlaneUnavailableReason() ?? ''}\n`);

/** The addon; throws where it did not load (tests using it run under {@link describeNative}). */
function nativeAddon(): DataPlaneAddon {
  if (!addon) throw new Error(`no data plane addon: ${dataPlaneUnavailableReason() ?? ''}`);
  return addon;
}

export const MAGIC_COOKIE = 0x2112a442;
export const MiB = 1024 * 1024;
export const EMPTY = Buffer.alloc(0);

// ---- cleanups ----------------------------------------------------------------------------------

/** What to undo after the current test, run last first by {@link runCleanups}. */
export const cleanups: (() => void)[] = [];

/** Runs and forgets the cleanups, last first: each test file passes it to `afterEach`. */
export function runCleanups(): void {
  for (const fn of cleanups.splice(0).reverse()) fn();
}

// ---- waiting -----------------------------------------------------------------------------------

/** Resolves once `check()` holds (polled every 2 ms); rejects naming `what` after `ms`. */
export function waitFor(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`${what}: not within ${ms} ms`));
      else setTimeout(poll, 2);
    };
    poll();
  });
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How many descriptors this process has open. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

// ---- the plane and what it passes up -----------------------------------------------------------

export interface Plane {
  readonly plane: DataPlane;
  /** Every record passed up, copied (its bytes outlive the callback). */
  readonly up: PassedUpPacket[];
}

/** A plane of `threads` workers (lingering close: `lingerMs`, or the default), closed after the test. */
export function openPlane(threads = 2, lingerMs?: number): Plane {
  const up: PassedUpPacket[] = [];
  const plane = nativeAddon().open({
    threads,
    lingerMs,
    minPort: 40000,
    maxPort: 60000,
    onPacket: (p) =>
      up.push({ ...p, address: Uint8Array.from(p.address), data: Buffer.from(p.data) }),
  });
  cleanups.push(() => {
    plane.close();
  });
  return { plane, up };
}

/** The frames passed up for stream client `id`, in order. */
export function framesOf(up: readonly PassedUpPacket[], id: number): Buffer[] {
  return up.filter((p) => p.source === 'stream' && p.id === id).map((p) => p.data);
}

/** The stream-end passed up for stream client `id`, if any. */
export function endOf(up: readonly PassedUpPacket[], id: number): PassedUpPacket | undefined {
  return up.find((p) => p.source === 'stream-end' && p.id === id);
}

export function hex(frames: readonly Uint8Array[]): string[] {
  return frames.map((f) => Buffer.from(f).toString('hex'));
}

/** Expects `got` to be `expected`, frame by frame (naming the first that differs). */
export function expectFrames(got: readonly Buffer[], expected: readonly Buffer[]): void {
  expect(got.length).toBe(expected.length);
  for (const [i, frame] of expected.entries()) {
    if (!got[i]?.equals(frame)) expect.fail(`frame ${i} differs`);
  }
}

// ---- TCP connections ---------------------------------------------------------------------------

/** A loopback TCP server that never reads what it accepts (pauseOnConnect). */
export interface PausedServer {
  readonly port: number;
  /**
   * A client connection (within 2 s) and the server side of it (accepted within 2 s), both
   * destroyed after the test. `paused`: the client is paused before it connects.
   */
  connect(paused?: boolean): Promise<{ raw: net.Socket; serverSide: net.Socket }>;
  close(): void;
}

export async function pausedServer(): Promise<PausedServer> {
  const accepted = new Map<number, net.Socket>();
  const acceptWaiters = new Map<number, (socket: net.Socket) => void>();
  // pauseOnConnect: Node reads an accepted socket only when a test says so.
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const port = socket.remotePort ?? 0;
    const waiter = acceptWaiters.get(port);
    if (waiter) {
      acceptWaiters.delete(port);
      waiter(socket);
    } else {
      accepted.set(port, socket);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverPort = (server.address() as net.AddressInfo).port;
  const connect = async (paused = false): Promise<{ raw: net.Socket; serverSide: net.Socket }> => {
    const raw = net.connect({ port: serverPort, host: '127.0.0.1', noDelay: true });
    cleanups.push(() => raw.destroy());
    raw.on('error', () => undefined); // a reset shows as 'close'
    if (paused) raw.pause();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no connection within 2 s')), 2000);
      raw.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const port = raw.localPort ?? 0;
    const serverSide =
      accepted.get(port) ??
      (await new Promise<net.Socket>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('not accepted within 2 s')), 2000);
        acceptWaiters.set(port, (s) => {
          clearTimeout(timer);
          resolve(s);
        });
      }));
    accepted.delete(port);
    cleanups.push(() => serverSide.destroy());
    return { raw, serverSide };
  };
  return { port: serverPort, connect, close: () => server.close() };
}

/** The descriptor under a Node socket. */
export function fdOf(socket: net.Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

/**
 * Hands the server side to `worker` as stream client `id` (with the bytes Node read, and a TLS
 * context for a TLS stream), expects a handle, and closes Node's descriptor in the same turn.
 */
export function adopt(
  plane: DataPlane,
  serverSide: net.Socket,
  worker: number,
  id: number,
  partial: Uint8Array = EMPTY,
  context?: number,
  message?: string,
): number {
  const handle = plane.adoptStream(worker, fdOf(serverSide), id, partial, context);
  expect(handle, message).toBeDefined();
  if (handle === undefined) throw new Error('unreachable: the expectation threw');
  serverSide.removeAllListeners('data');
  serverSide.removeAllListeners('close');
  serverSide.destroy();
  return handle;
}

/** What a client socket received: nothing until `read()`. */
export interface Received {
  readonly chunks: Buffer[];
  received(): Buffer;
  size(): number;
  /** Starts reading (a client made with read = false reads nothing until then). */
  read(): void;
}

export function receiver(socket: net.Socket): Received {
  const chunks: Buffer[] = [];
  return {
    chunks,
    received: () => Buffer.concat(chunks),
    size: () => chunks.reduce((n, c) => n + c.length, 0),
    read: () => {
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.resume();
    },
  };
}

/** `sendToStream` on one stream, keeping a copy of each buffer it took ('sent') in `sent`. */
export function streamSender(
  plane: DataPlane,
  handle: number,
): {
  readonly send: (data: Uint8Array, droppable?: boolean) => ReturnType<DataPlane['sendToStream']>;
  readonly sent: Buffer[];
} {
  const sent: Buffer[] = [];
  const send = (data: Uint8Array, droppable = false): ReturnType<DataPlane['sendToStream']> => {
    const result = plane.sendToStream(handle, data, droppable);
    if (result === 'sent') sent.push(Buffer.from(data));
    return result;
  };
  return { send, sent };
}

/** Writes on a client's socket (TCP or TLS); resolves once written. */
export function write(client: { readonly socket: net.Socket }, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    client.socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

// ---- TLS clients -------------------------------------------------------------------------------

/** TLS record content types (RFC 8446 §5.1). */
const ALERT = 21;
const APPLICATION_DATA = 23;

/**
 * The TCP connection under a TLS client as a Duplex (Node's TLS client then runs over it): it
 * keeps the ciphertext the client receives, can hold back all but the first `split` bytes of
 * the client's first write (its ClientHello) for 60 ms, and lets a test write raw bytes.
 */
export class Wire extends Duplex {
  readonly inbound: Buffer[] = [];
  readonly raw: net.Socket;
  #split: number | undefined;
  #eof = false;

  constructor(raw: net.Socket, split?: number) {
    super();
    this.raw = raw;
    this.#split = split;
    raw.on('data', (d: Buffer) => {
      this.inbound.push(d);
      if (!this.push(d)) raw.pause();
    });
    raw.on('end', () => this.#end());
    raw.on('close', () => {
      this.#end();
      // The TLS socket closes too once it has read everything (close_notify included).
      if (this.readableEnded) this.destroy();
      else this.once('end', () => this.destroy());
    });
  }

  #end(): void {
    if (!this.#eof) this.push(null);
    this.#eof = true;
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    const split = this.#split;
    this.#split = undefined;
    if (split === undefined || split >= chunk.length) {
      this.raw.write(chunk, callback);
      return;
    }
    this.raw.write(chunk.subarray(0, split));
    setTimeout(() => {
      if (this.raw.destroyed) callback(new Error('connection gone'));
      else this.raw.write(chunk.subarray(split), callback);
    }, 60);
  }

  override _final(callback: () => void): void {
    this.raw.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.raw.destroy();
    callback(error);
  }

  /** The ciphertext received so far. */
  received(): Buffer {
    return Buffer.concat(this.inbound);
  }
}

/** The whole TLS records in `bytes` (type and length), and the bytes they take. */
export function records(bytes: Buffer): { list: { type: number; length: number }[]; size: number } {
  const list: { type: number; length: number }[] = [];
  let size = 0;
  while (size + 5 <= bytes.length) {
    const length = bytes.readUInt16BE(size + 3);
    if (size + 5 + length > bytes.length) break;
    list.push({ type: bytes.readUInt8(size), length });
    size += 5 + length;
  }
  return { list, size };
}

/**
 * Whether the last record the client received is a close_notify: an alert record in TLS 1.2,
 * a 19-byte application_data record in TLS 1.3 (2 bytes of alert, its type, a 16-byte tag).
 */
export function endsWithCloseNotify(client: { readonly wire: Wire }, version: string): boolean {
  const wire = client.wire.received();
  const { list, size } = records(wire);
  const last = list.at(-1);
  if (size !== wire.length || !last) return false;
  if (version === 'TLSv1.2') return last.type === ALERT;
  return last.type === APPLICATION_DATA && last.length === 19;
}

// ---- frames ------------------------------------------------------------------------------------

/** A STUN message: header (given type, length of body, magic cookie, transaction id) + body. */
export function stun(type: number, body: Uint8Array | number, cookie = MAGIC_COOKIE): Buffer {
  const content = typeof body === 'number' ? Buffer.alloc(body, 0xab) : Buffer.from(body);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(content.length, 2);
  header.writeUInt32BE(cookie >>> 0, 4);
  for (let i = 8; i < 20; i++) header[i] = i * 7;
  return Buffer.concat([header, content]);
}

/** A ChannelData frame and its stream form (padded to a multiple of 4 with `padByte`). */
export function channelData(
  channel: number,
  payload: Uint8Array,
  padByte = 0,
): { frame: Buffer; wire: Buffer } {
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeUInt16BE(channel, 0);
  frame.writeUInt16BE(payload.length, 2);
  frame.set(payload, 4);
  const pad = Buffer.alloc((4 - (payload.length % 4)) % 4, padByte);
  return { frame, wire: Buffer.concat([frame, pad]) };
}

/** `n` bytes counting up from `first` (mod 256). */
export function bytes(n: number, first = 1): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (first + i) & 0xff));
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * STUN messages and ChannelData frames (empty, odd padding bytes, the highest channel) in the
 * order a test writes them byte by byte: each frame and its stream form.
 */
export function mixedFrames(): { frame: Buffer; wire: Buffer }[] {
  const whole = (frame: Buffer): { frame: Buffer; wire: Buffer } => ({ frame, wire: frame });
  return [
    whole(stun(0x0001, 8)),
    channelData(0x4001, bytes(5), 0xee), // padding bytes are skipped whatever they are
    channelData(0x4002, bytes(0)),
    whole(stun(0x0011, 0)),
    channelData(0x7fff, bytes(4)),
    channelData(0x4000, bytes(7, 100)),
  ];
}

/**
 * The frames `first`, the largest STUN message, the largest ChannelData, then `count` random
 * frames (some large): each frame, and the stream form of all (more than one read of a worker).
 */
export function randomFrames(
  seed: number,
  count: number,
  first: readonly Buffer[] = [],
): { expected: Buffer[]; wire: Buffer } {
  const random = prng(seed);
  const expected: Buffer[] = [...first];
  const wire: Buffer[] = [...first];
  const add = (frame: Buffer, padded: Buffer = frame): void => {
    expected.push(frame);
    wire.push(padded);
  };
  add(stun(0x0101, 0xfffc)); // largest STUN message
  const largest = channelData(0x4abc, bytes(0xffff)); // largest ChannelData, 1 byte padding
  add(largest.frame, largest.wire);
  for (let i = 0; i < count; i++) {
    const big = random() < 0.02;
    if (random() < 0.5) {
      const length = Math.floor(random() * (big ? 0xffff : 300));
      const cd = channelData(0x4000 + Math.floor(random() * 0x4000), bytes(length, i), i);
      add(cd.frame, cd.wire);
    } else {
      const length = 4 * Math.floor(random() * (big ? 0x3fff : 80));
      add(stun(Math.floor(random() * 0x4000), bytes(length, i)));
    }
  }
  return { expected, wire: Buffer.concat(wire) };
}

/** A Send indication (transaction id 5…5) of `data` to the loopback peer at `port`. */
export function sendIndication(port: number, data: Uint8Array): Uint8Array {
  return encodeMessage({
    method: Method.Send,
    messageClass: MessageClass.Indication,
    transactionId: new Uint8Array(12).fill(5),
    attributes: [
      attr(xorPeerAddress, { family: 4, address: '127.0.0.1', port }),
      attr(dataAttr, data),
    ],
  });
}

/** The Data indication the JavaScript encoder makes of `data` from the loopback peer at `port`. */
export function dataIndication(
  port: number,
  data: Uint8Array,
  transactionId: Uint8Array,
): Uint8Array {
  return encodeMessage({
    method: Method.Data,
    messageClass: MessageClass.Indication,
    transactionId,
    attributes: [
      attr(xorPeerAddress, { family: 4, address: '127.0.0.1', port }),
      attr(dataAttr, data),
    ],
  });
}

// ---- UDP peers and allocations -----------------------------------------------------------------

/** A UDP socket on loopback that keeps what it receives (closed after the test). */
export interface Peer {
  readonly socket: dgram.Socket;
  readonly port: number;
  readonly got: { data: Buffer; port: number }[];
  send(data: Uint8Array, port: number): Promise<void>;
}

export async function udpPeer(): Promise<Peer> {
  const socket = dgram.createSocket('udp4');
  cleanups.push(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const got: { data: Buffer; port: number }[] = [];
  socket.on('message', (data, rinfo) => got.push({ data, port: rinfo.port }));
  return {
    socket,
    port: socket.address().port,
    got,
    send: (data, port) =>
      new Promise((resolve, reject) => {
        socket.send(data, port, '127.0.0.1', (error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** An allocation of stream `stream` on `worker`: one relay, loopback permitted, `channels`. */
export function allocation(
  worker: number,
  stream: number,
  relay: number,
  channels: { number: number; port: number }[],
): NativeAllocation {
  return {
    worker,
    stream,
    listener: 0,
    clientIp: '',
    clientPort: 0,
    relays: [relay],
    ttlMs: 60_000,
    permissions: [{ ip: '127.0.0.1', ttlMs: 60_000, relayPortsOnly: false }],
    channels: channels.map((c) => ({ ...c, ip: '127.0.0.1', ttlMs: 60_000 })),
  };
}
