/**
 * Large bodies stream through the proxy in both directions: the upstream sees the upload before
 * the client has finished sending it, and the client sees the download before the upstream has
 * finished sending it. A proxy that buffered either body would deadlock these tests.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes } from '../../../test/helpers/https-upstream.js';
import { startFixture } from './harness.js';
import type { ProxyFixture } from './harness.js';

const TOTAL_BYTES = 20 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const EARLY_BYTES = 2 * 1024 * 1024;

let f: ProxyFixture;
beforeAll(async () => {
  f = await startFixture({ limits: { maxBodyBytes: 64 * 1024 * 1024 } });
});
afterAll(async () => {
  await f.close();
});

/** Resolves when `condition` holds after an event, failing after `timeoutMs`. */
async function waitFor(event: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${event}`);
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), left);
    try {
      await once(f.upstream.events, event, { signal: timer.signal });
    } catch {
      // Timed out: the loop condition decides.
    } finally {
      clearTimeout(timeout);
    }
  }
}

describe('streaming', () => {
  it('streams a 20 MiB upload: the upstream receives data before the client finishes', async () => {
    let received = 0;
    const onProgress = (bytes: number): void => {
      received = bytes;
    };
    f.upstream.events.on('progress', onProgress);
    const hash = createHash('sha256');
    let sawEarly = false;
    async function* upload(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < TOTAL_BYTES; offset += CHUNK_BYTES) {
        if (offset === TOTAL_BYTES / 2) {
          // Half sent: the upstream must already have most of the first half.
          await waitFor('progress', () => received >= EARLY_BYTES, 10_000);
          sawEarly = received < TOTAL_BYTES;
        }
        const chunk = patternBytes(offset, CHUNK_BYTES);
        hash.update(chunk);
        yield chunk;
      }
    }
    try {
      const res = await f.send(`/${f.target}/sink`, {
        method: 'POST',
        body: Readable.from(upload()),
      });
      expect(res.statusCode).toBe(200);
      const result = (await res.body.json()) as { bytes: number; sha256: string };
      expect(result).toEqual({ bytes: TOTAL_BYTES, sha256: hash.digest('hex') });
      expect(sawEarly).toBe(true);
    } finally {
      f.upstream.events.off('progress', onProgress);
    }
  });

  it('streams a 20 MiB download: the client receives data before the upstream finishes', async () => {
    const res = await f.send(`/${f.target}/gated/${TOTAL_BYTES}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(TOTAL_BYTES));
    const hash = createHash('sha256');
    let received = 0;
    let released = false;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      received += chunk.length;
      if (!released && received >= EARLY_BYTES) {
        // The upstream is holding back its second half: what arrived was streamed, not buffered.
        released = true;
        f.upstream.releaseGate();
      }
    }
    expect(released).toBe(true);
    expect(received).toBe(TOTAL_BYTES);
    const expected = createHash('sha256');
    for (let offset = 0; offset < TOTAL_BYTES; offset += CHUNK_BYTES)
      expected.update(patternBytes(offset, CHUNK_BYTES));
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
  });
});
