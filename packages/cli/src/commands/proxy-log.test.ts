import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AccessLogEntry } from '@cloudproxy/proxy';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchSizes } from './proxy-log.js';
import {
  ACCESS_GROUP,
  FILE_BATCH,
  LineBatcher,
  PIPE_BATCH,
  createProxyLogger,
} from './proxy-log.js';

const ENTRY: AccessLogEntry = {
  method: 'GET',
  upstream: 'api.example.com:8443',
  path: '/v1/"quoted"\\path/é',
  status: 200,
  bytesIn: 12,
  bytesOut: 3456,
  client: '192.0.2.7',
  durationMs: 4,
};

/** A batcher over a fake descriptor that records every write (what the fake accepted of it). */
function recording(
  sizes: BatchSizes = PIPE_BATCH,
  accept?: (data: Uint8Array) => number,
): { batcher: LineBatcher; writes: string[]; dropped: string[] } {
  const writes: string[] = [];
  const dropped: string[] = [];
  const batcher = new LineBatcher(99, {
    sizes,
    writeSync: (_fd, data) => {
      const written = accept === undefined ? data.length : accept(data);
      writes.push(Buffer.from(data.subarray(0, written)).toString());
      return written;
    },
    onDropped: (error) => dropped.push(error.code ?? ''),
  });
  return { batcher, writes, dropped };
}

describe('LineBatcher', () => {
  for (const sizes of [PIPE_BATCH, FILE_BATCH]) {
    it(`writes whole lines in batches of ${sizes.batchBytes} to ${sizes.maxWriteBytes} bytes`, () => {
      const { batcher, writes } = recording(sizes);
      const lines = Array.from({ length: 300 }, (_, i) => `${'é'.repeat(i % 150)}${i}\n`);
      for (const line of lines) batcher.write(line);
      batcher.flushSync();
      expect(writes.join('')).toBe(lines.join(''));
      for (const write of writes.slice(0, -1)) {
        const bytes = Buffer.byteLength(write);
        expect(bytes).toBeGreaterThanOrEqual(sizes.batchBytes - 400);
        expect(bytes).toBeLessThanOrEqual(sizes.maxWriteBytes);
        expect(write.endsWith('\n')).toBe(true);
      }
    });
  }

  it('writes nothing until a batch fills or flush is called', () => {
    const { batcher, writes } = recording();
    batcher.write('a\n');
    batcher.write('b\n');
    expect(writes).toEqual([]);
    batcher.flush();
    expect(writes).toEqual(['a\nb\n']);
    batcher.flushSync();
    expect(writes).toHaveLength(1);
  });

  it('writes a line longer than a write alone, after what was pending', () => {
    const { batcher, writes } = recording();
    const long = `${'y'.repeat(5000)}\n`;
    batcher.write('a\n');
    batcher.write(long);
    batcher.write('b\n');
    batcher.flushSync();
    expect(writes).toEqual(['a\n', long, 'b\n']);
  });

  it('continues short writes and retries writes that would block', () => {
    let calls = 0;
    const { batcher, writes } = recording(PIPE_BATCH, (data) => {
      calls++;
      if (calls === 2) throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
      return Math.min(3, data.length);
    });
    batcher.write('0123456789\n');
    batcher.flushSync();
    expect(writes.join('')).toBe('0123456789\n');
    expect(calls).toBeGreaterThan(4);
  });

  it('drops a batch it cannot write and reports each error code once', () => {
    const { batcher, dropped } = recording(PIPE_BATCH, () => {
      throw Object.assign(new Error('EPIPE'), { code: 'EPIPE' });
    });
    batcher.write('a\n');
    batcher.flushSync();
    batcher.write('b\n');
    batcher.flushSync();
    expect(dropped).toEqual(['EPIPE']);
  });
});

describe('createProxyLogger', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const tempFile = (): string => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'proxy-log-'));
    return path.join(dir, 'sub', 'access.log');
  };
  const withoutTime = (line: string): string => line.replace(/"time":"[^"]+"/, '"time":""');

  it('writes access lines exactly as pino writes the same fields', () => {
    const file = tempFile();
    const log = createProxyLogger({ verbose: false, file, name: 'cloudproxy-proxy' });
    const websocket: AccessLogEntry = {
      ...ENTRY,
      websocket: true,
      closeCodes: { client: 1000, upstream: 1006 },
    };
    log.proxy.access?.(ENTRY);
    log.proxy.info({ event: 'proxy.access', ...ENTRY }, 'proxied');
    log.proxy.access?.(websocket);
    log.proxy.info({ event: 'proxy.access', ...websocket }, 'websocket closed');
    log.proxy.warn({ event: 'proxy.refused', code: 'host-not-allowed' }, 'request refused');
    log.flush();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map(withoutTime);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe(lines[1]);
    expect(lines[2]).toBe(lines[3]);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 'info',
      pid: process.pid,
      name: 'cloudproxy-proxy',
      event: 'proxy.access',
      path: ENTRY.path,
      msg: 'proxied',
    });
    expect(JSON.parse(lines[4] ?? '')).toMatchObject({ level: 'warn', code: 'host-not-allowed' });
  });

  it('keeps the order of access lines and other lines, and the time each was logged', () => {
    const file = tempFile();
    const log = createProxyLogger({ verbose: true, file, name: 'cloudproxy-proxy' });
    const count = ACCESS_GROUP * 2 + 3;
    for (let i = 0; i < count; i++) {
      log.proxy.access?.({ ...ENTRY, status: 200 + i });
      if (i % 10 === 0) log.proxy.debug({ event: 'tick', i }, 'tick');
    }
    log.flush();
    const lines = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const expected: unknown[] = [];
    for (let i = 0; i < count; i++) {
      expected.push(200 + i);
      if (i % 10 === 0) expected.push(`tick ${i}`);
    }
    expect(
      lines.map((l) => (l['event'] === 'tick' ? `tick ${String(l['i'])}` : l['status'])),
    ).toEqual(expected);
    const times = lines.map((l) => Date.parse(String(l['time'])));
    expect(times.every((t) => Math.abs(t - Date.now()) < 60_000)).toBe(true);
  });
});
