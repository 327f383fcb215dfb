/**
 * Builds fuzz/fuzz-parse.c with AddressSanitizer and UndefinedBehaviorSanitizer and runs it:
 * the native packet parser must never read outside a datagram, whatever the bytes. Skipped when
 * no C compiler is installed. FUZZ_RUNS sets the number of inputs (default 200 000).
 *
 * Then random byte streams over TCP connections served by the addon's stream reader, checked
 * against the JavaScript StreamFramer (FUZZ_SEED replays a run).
 */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamFramer } from '@cloudproxy/stun';
import type { DataPlane, PassedUpPacket } from './index.js';
import {
  EMPTY,
  MAGIC_COOKIE,
  adopt,
  addon,
  cleanups,
  pausedServer,
  prng,
  runCleanups,
  waitFor,
} from './test-support.js';

const root = path.resolve(import.meta.dirname, '..');
const compiler = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);

describe.skipIf(compiler === undefined)('native packet parser under sanitizers', () => {
  it('handles random and mutated datagrams without a fault', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dataplane-fuzz-'));
    try {
      const binary = path.join(dir, 'fuzz-parse');
      const build = spawnSync(
        compiler ?? 'cc',
        [
          '-O1',
          '-g',
          '-fsanitize=address,undefined',
          '-fno-sanitize-recover=all',
          `-I${path.join(root, 'src')}`,
          path.join(root, 'fuzz/fuzz-parse.c'),
          path.join(root, 'src/fastpath.c'),
          '-o',
          binary,
        ],
        { encoding: 'utf8' },
      );
      expect(build.status, build.stderr).toBe(0);
      const runs = process.env['FUZZ_RUNS'] ?? '200000';
      const seed = String(Date.now() % 1_000_000_007);
      const run = spawnSync(binary, [runs, seed], { encoding: 'utf8', timeout: 120_000 });
      expect(run.status, `seed ${seed}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/^ok /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- the stream reader under random bytes -------------------------------------------------------

afterEach(runCleanups);

/** Random stream content: mostly whole frames; with probability `hostility` a cut frame, garbage or a bad header. */
function randomItem(random: () => number, hostility: number): Buffer {
  const int = (n: number): number => Math.floor(random() * n);
  const fill = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const frame = (): Buffer => {
    const big = random() < 0.01;
    if (random() < 0.55) {
      const length = int(big ? 0x10000 : 200);
      const b = fill(4 + length + ((4 - (length % 4)) % 4)); // random padding bytes too
      b.writeUInt16BE(random() < 0.3 ? 0x4001 : 0x4000 + int(0x4000), 0);
      b.writeUInt16BE(length, 2);
      return b;
    }
    const length = 4 * int(big ? 0x4000 : 60);
    const b = fill(20 + length);
    const type = int(0x4000);
    b.writeUInt16BE(type === 0x0016 ? 0x0001 : type, 0); // no Send indication by chance
    b.writeUInt16BE(length, 2);
    b.writeUInt32BE(MAGIC_COOKIE, 4);
    return b;
  };
  if (random() >= hostility) return frame();
  const kind = int(4);
  if (kind === 0) {
    const whole = frame();
    return whole.subarray(0, int(whole.length)); // cut short: what follows is misread
  }
  if (kind === 1) return fill(1 + int(64));
  const b = fill(20 + 4 * int(20));
  b.writeUInt16BE(int(0x4000), 0);
  b.writeUInt16BE(kind === 2 ? 4 * int(20) + 1 + int(3) : b.length - 20, 2);
  b.writeUInt32BE(kind === 2 ? MAGIC_COOKIE : (MAGIC_COOKIE ^ (1 + int(0xffff))) >>> 0, 4);
  return b;
}

/** What the JavaScript framer makes of a whole stream: its frames, and whether it is bad. */
function reference(stream: Buffer): { frames: Buffer[]; bad: boolean } {
  const frames: Buffer[] = [];
  const framer = new StreamFramer((f) => frames.push(Buffer.from(f)));
  let bad = false;
  try {
    framer.push(stream);
  } catch {
    bad = true;
  }
  // The native reader judges a STUN length from 4 bytes on, the JavaScript one from 8: a stream
  // ending on such a header is bad for the first, incomplete for the second.
  const left = framer.bufferedBytes;
  if (!bad && left >= 4 && left < 8) {
    const tail = stream.subarray(stream.length - left);
    bad = (tail[0] ?? 0) >> 6 === 0 && tail.readUInt16BE(2) % 4 !== 0;
  }
  return { frames, bad };
}

interface FuzzConnection {
  readonly id: number;
  readonly handle: number;
  readonly client: net.Socket;
  readonly chunks: Buffer[];
  next: number;
  /** Frames expected up (the bound channel's go to the peer instead) and the verdict. */
  readonly expectedUp: Buffer[];
  readonly bad: boolean;
  readonly relayed: number;
  /** Chunk index at which JavaScript closes the connection itself (unprogrammed ones only). */
  readonly closeAt: number | undefined;
  jsClosed: boolean;
  closed: boolean;
  readonly sent: Buffer[];
  readonly received: Buffer[];
  readonly alloc: number | undefined;
  readonly relay: number | undefined;
}

describe.skipIf(addon === undefined)('native stream reader under random bytes', () => {
  it('splits random streams as the JavaScript framer does, and survives them', async () => {
    const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
    const why = `FUZZ_SEED=${seed}`;
    const random = prng(seed);
    const int = (n: number): number => Math.floor(random() * n);
    const target = Math.max(4000, Math.floor(Number(process.env['FUZZ_RUNS'] ?? 0) / 50));
    const frames = new Map<number, Buffer[]>();
    const ends = new Map<number, number>();
    let strays = 0;
    const plane: DataPlane = addon!.open({
      threads: 2,
      minPort: 40000,
      maxPort: 60000,
      onPacket: (p: PassedUpPacket) => {
        if (p.source === 'stream' && frames.has(p.id)) frames.get(p.id)?.push(Buffer.from(p.data));
        else if (p.source === 'stream-end' && !ends.has(p.id)) ends.set(p.id, p.data[0] ?? -1);
        else strays++;
      },
    });
    const peer = dgram.createSocket('udp4');
    let peerGot = 0;
    peer.on('message', () => peerGot++);
    try {
      // Its connections (resets after bad framing are expected) are destroyed after the test.
      const server = await pausedServer();
      cleanups.push(() => server.close());
      await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));

      let nextId = 1;
      const open = async (): Promise<FuzzConnection> => {
        const id = nextId++;
        const worker = int(2);
        const hostility = [0, 0, 0.01, 0.05, 0.3][int(5)] ?? 0;
        const items: Buffer[] = [];
        for (let i = 20 + int(150); i > 0; i--) items.push(randomItem(random, hostility));
        const stream = Buffer.concat(items);
        // Programmed only after the handover: bytes handed over would race with it.
        const programmed = random() < 0.3;
        const partial =
          !programmed && random() < 0.4
            ? stream.subarray(0, int(Math.min(stream.length, 4000)))
            : undefined;
        const chunks: Buffer[] = [];
        for (let off = partial?.length ?? 0; off < stream.length;) {
          const r = random();
          const size = 1 + int(r < 0.4 ? 8 : r < 0.85 ? 600 : 6000);
          chunks.push(stream.subarray(off, off + size));
          off += size;
        }
        const { frames: all, bad } = reference(stream);
        const boundChannel = (f: Buffer): boolean =>
          f[0]! >> 6 === 1 && f.readUInt16BE(0) === 0x4001;
        const expectedUp = programmed ? all.filter((f) => !boundChannel(f)) : all;
        const { raw: client, serverSide } = await server.connect();
        frames.set(id, []);
        const handle = adopt(plane, serverSide, worker, id, partial ?? EMPTY, undefined, why);
        let relay: number | undefined;
        let alloc: number | undefined;
        if (programmed) {
          relay = plane.openRelay(worker, '127.0.0.1', 0, id);
          expect(relay, why).toBeDefined();
          alloc = plane.program({
            worker,
            stream: handle,
            listener: 0,
            clientIp: '',
            clientPort: 0,
            relays: [relay!],
            ttlMs: 60_000,
            permissions: [{ ip: '127.0.0.1', ttlMs: 60_000, relayPortsOnly: false }],
            channels: [
              { number: 0x4001, ip: '127.0.0.1', port: peer.address().port, ttlMs: 60_000 },
            ],
          });
          expect(alloc, why).toBeDefined();
        }
        const connection: FuzzConnection = {
          id,
          handle,
          client,
          chunks,
          next: 0,
          expectedUp,
          bad,
          relayed: all.length - expectedUp.length,
          closeAt:
            !programmed && chunks.length > 0 && random() < 0.1 ? int(chunks.length) : undefined,
          jsClosed: false,
          closed: false,
          sent: [],
          received: [],
          alloc,
          relay,
        };
        client.on('data', (d: Buffer) => connection.received.push(d));
        client.on('close', () => (connection.closed = true));
        return connection;
      };

      let written = 0;
      let relayed = 0;
      const verdicts = { bad: 0, clean: 0, jsClosed: 0 };
      while (written < target) {
        const wave: FuzzConnection[] = [];
        for (let i = 0; i < 12; i++) wave.push(await open());
        let busy = wave.filter((c) => c.next < c.chunks.length);
        for (let n = 1; busy.length > 0; n++) {
          const c = busy[int(busy.length)]!;
          if (c.closeAt === c.next) {
            expect(plane.closeStream(c.handle), why).toBe(true);
            c.jsClosed = true;
            c.next = c.chunks.length;
          } else {
            if (!c.client.destroyed) c.client.write(c.chunks[c.next]!);
            c.next++;
            written++;
          }
          if (!c.jsClosed && random() < 0.02) {
            const bytes = Buffer.from([n & 0xff, 1, 2, 3].slice(0, 1 + int(4)));
            if (plane.sendToStream(c.handle, bytes, false) === 'sent') c.sent.push(bytes);
          }
          if (n % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
          busy = busy.filter((b) => b.next < b.chunks.length);
        }
        for (const c of wave) if (!c.jsClosed) c.client.end();
        await waitFor(() => wave.every((c) => c.jsClosed || ends.has(c.id)), why, 10_000);
        await waitFor(() => wave.every((c) => c.closed), `${why}: clients closed`, 5000);
        for (const c of wave) {
          const got = frames.get(c.id) ?? [];
          const end = ends.get(c.id);
          const at = `${why}, connection ${c.id}`;
          for (let i = 0; i < Math.min(got.length, c.expectedUp.length); i++) {
            if (!got[i]!.equals(c.expectedUp[i]!)) expect.fail(`${at}: frame ${i} differs`);
          }
          if (c.jsClosed) {
            verdicts.jsClosed++;
            // Whatever went up before JavaScript closed it: a prefix, and no end but bad framing.
            expect(got.length, at).toBeLessThanOrEqual(c.expectedUp.length);
            if (end !== undefined) expect([end, c.bad], at).toEqual([1, true]);
          } else {
            verdicts[c.bad ? 'bad' : 'clean']++;
            expect(end, at).toBe(c.bad ? 1 : 0);
            expect(got.length, at).toBe(c.expectedUp.length);
            relayed += c.relayed;
            if (!c.bad) {
              expect(Buffer.concat(c.received).equals(Buffer.concat(c.sent)), at).toBe(true);
            }
          }
          expect(plane.closeStream(c.handle), at).toBe(!c.jsClosed);
          expect(plane.closeStream(c.handle), at).toBe(false);
          if (c.alloc !== undefined) expect(plane.unprogram(c.alloc), at).toBeDefined();
          if (c.relay !== undefined) expect(plane.closeRelay(c.relay), at).toBe(true);
        }
      }
      expect(verdicts.bad, why).toBeGreaterThan(0);
      expect(verdicts.clean, why).toBeGreaterThan(0);
      const stats = plane.stats();
      expect(stats.toPeerPackets, why).toBe(relayed);
      expect(peerGot, why).toBeLessThanOrEqual(relayed);
      expect(stats.passedUpDropped, why).toBe(0);
      expect(strays, why).toBe(0);

      // A new connection is served as the first one was.
      const { raw: client, serverSide } = await server.connect();
      const received: Buffer[] = [];
      client.on('data', (d: Buffer) => received.push(d));
      frames.set(0, []);
      const handle = adopt(plane, serverSide, 1, 0, EMPTY, undefined, why);
      const hello = Buffer.alloc(28);
      hello.writeUInt16BE(0x0001, 0);
      hello.writeUInt16BE(8, 2);
      hello.writeUInt32BE(MAGIC_COOKIE, 4);
      client.write(hello);
      await waitFor(() => frames.get(0)?.length === 1, `${why}: a frame afterwards`, 2000);
      expect(frames.get(0)?.[0]?.equals(hello), why).toBe(true);
      expect(plane.sendToStream(handle, Buffer.from([1, 2, 3]), false), why).toBe('sent');
      await waitFor(() => Buffer.concat(received).length === 3, `${why}: bytes afterwards`, 2000);
    } finally {
      plane.close();
      peer.close();
    }
  }, 60_000);
});
