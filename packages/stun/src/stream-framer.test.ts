import { describe, expect, it } from 'vitest';
import { attr } from './attribute.js';
import { software } from './attributes/index.js';
import { encodeChannelData } from './channel-data.js';
import { MessageClass, Method } from './constants.js';
import { encodeMessage } from './encode.js';
import { StunDecodeError, StunOptionError } from './errors.js';
import { StreamFramer, type FrameKind, type StreamFramerOptions } from './stream-framer.js';

interface Frame {
  readonly kind: FrameKind;
  readonly bytes: number[];
}

function collect(options?: StreamFramerOptions): { framer: StreamFramer; frames: Frame[] } {
  const frames: Frame[] = [];
  const framer = new StreamFramer((frame, kind) => {
    frames.push({ kind, bytes: Array.from(frame) });
  }, options);
  return { framer, frames };
}

const STUN = encodeMessage({
  method: Method.Allocate,
  messageClass: MessageClass.Request,
  transactionId: new Uint8Array(12).fill(3),
  attributes: [attr(software, 'framer test')],
});
const CD_PADDED = encodeChannelData(0x4001, Uint8Array.of(1, 2, 3, 4, 5), true); // 5 data + 3 padding
const CD_EMPTY = encodeChannelData(0x4fff, new Uint8Array(0), true);
const CD_ALIGNED = encodeChannelData(0x4002, Uint8Array.of(9, 9, 9, 9), true);
const STREAM = Uint8Array.of(
  ...STUN,
  ...CD_PADDED,
  ...CD_EMPTY,
  ...STUN,
  ...CD_ALIGNED,
  ...CD_PADDED,
);
const EXPECTED: Frame[] = [
  { kind: 'stun', bytes: Array.from(STUN) },
  { kind: 'channel-data', bytes: Array.from(CD_PADDED.subarray(0, 9)) },
  { kind: 'channel-data', bytes: Array.from(CD_EMPTY) },
  { kind: 'stun', bytes: Array.from(STUN) },
  { kind: 'channel-data', bytes: Array.from(CD_ALIGNED) },
  { kind: 'channel-data', bytes: Array.from(CD_PADDED.subarray(0, 9)) },
];

function pushInChunks(framer: StreamFramer, bytes: Uint8Array, sizes: (i: number) => number): void {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const n = Math.max(1, sizes(i));
    framer.push(bytes.subarray(offset, offset + n));
    offset += n;
  }
}

describe('StreamFramer', () => {
  it('splits many frames delivered in one chunk, dropping ChannelData padding', () => {
    const { framer, frames } = collect();
    framer.push(STREAM);
    expect(frames).toEqual(EXPECTED);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('handles byte-at-a-time delivery', () => {
    const { framer, frames } = collect();
    pushInChunks(framer, STREAM, () => 1);
    expect(frames).toEqual(EXPECTED);
    expect(framer.bufferedBytes).toBe(0);
  });

  it.each([2, 3, 5, 7, 13, 21, 64])('handles chunks of %i bytes', (size) => {
    const { framer, frames } = collect();
    pushInChunks(framer, STREAM, () => size);
    expect(frames).toEqual(EXPECTED);
  });

  it('handles irregular chunking', () => {
    const { framer, frames } = collect();
    pushInChunks(framer, STREAM, (i) => [1, 9, 2, 30, 4, 1, 17][i % 7]!);
    expect(frames).toEqual(EXPECTED);
  });

  it('delivers a ChannelData frame before its padding arrives and consumes the padding later', () => {
    const { framer, frames } = collect();
    framer.push(CD_PADDED.subarray(0, 9));
    expect(frames).toHaveLength(1);
    expect(framer.bufferedBytes).toBe(0);
    framer.push(CD_PADDED.subarray(9, 10));
    framer.push(Uint8Array.of(...CD_PADDED.subarray(10), ...CD_EMPTY));
    expect(frames.map((f) => f.bytes.length)).toEqual([9, 4]);
  });

  it('waits for a whole frame and reports buffered bytes', () => {
    const { framer, frames } = collect();
    framer.push(STUN.subarray(0, 3));
    expect(framer.bufferedBytes).toBe(3);
    framer.push(STUN.subarray(3, 10));
    framer.push(new Uint8Array(0));
    expect(framer.bufferedBytes).toBe(10);
    expect(frames).toHaveLength(0);
    framer.push(STUN.subarray(10));
    expect(frames).toHaveLength(1);
  });

  it('delivers a frame inside one chunk as a view and never keeps the caller chunk', () => {
    const views: Uint8Array[] = [];
    const framer = new StreamFramer((frame) => views.push(frame));
    const chunk = Uint8Array.of(...STUN, ...STUN.subarray(0, 10));
    framer.push(chunk);
    expect(views[0]!.buffer).toBe(chunk.buffer);
    chunk.fill(0); // the caller reuses its buffer
    framer.push(STUN.subarray(10));
    expect(Array.from(views[1]!)).toEqual(Array.from(STUN));
  });

  it('copies the unconsumed part of a Node Buffer chunk, which the caller may reuse', () => {
    const { framer, frames } = collect();
    const chunk = Buffer.from(Uint8Array.of(...CD_EMPTY, ...STUN.subarray(0, 12)));
    framer.push(chunk);
    chunk.fill(0);
    framer.push(STUN.subarray(12));
    expect(frames.map((f) => f.bytes)).toEqual([Array.from(CD_EMPTY), Array.from(STUN)]);
  });

  it('keeps working after the frame handler throws', () => {
    let calls = 0;
    const framer = new StreamFramer(() => {
      calls++;
      if (calls === 1) {
        throw new StunDecodeError('attribute/X', 'from the handler');
      }
    });
    expect(() => {
      framer.push(Uint8Array.of(...CD_EMPTY, ...CD_EMPTY));
    }).toThrow('from the handler');
    framer.push(CD_EMPTY);
    expect(calls).toBe(3);
  });

  it.each([
    ['first bits 10', [0x80, 0, 0, 0], 'first byte 0x80 starts neither stun nor channel data'],
    ['first bits 11', [0xff, 0, 0, 0, 0, 0, 0, 0], 'first byte 0xff starts neither'],
    [
      'a STUN length not a multiple of 4',
      [0, 1, 0, 2, 0x21, 0x12, 0xa4, 0x42],
      'stun message length 2 is not a multiple of 4',
    ],
    [
      'a bad magic cookie',
      [0, 1, 0, 0, 1, 2, 3, 4],
      'magic cookie 0x01020304, expected 0x2112a442',
    ],
  ])('fails on %s and stays failed', (_case, bytes, reason) => {
    const { framer, frames } = collect();
    framer.push(CD_EMPTY);
    const error = (() => {
      try {
        framer.push(Uint8Array.from(bytes));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StunDecodeError);
    expect((error as StunDecodeError).message).toContain(`stream: ${reason}`);
    expect(() => {
      framer.push(CD_EMPTY);
    }).toThrow(error);
    expect(frames).toHaveLength(1);
  });

  it('reads frame headers at their offset inside a chunk that is itself a subarray', () => {
    // Filler 0x80 (first bits 10) around the chunk: a header read from the wrong place fails.
    const buffer = new Uint8Array(STREAM.length + 20).fill(0x80);
    buffer.set(STREAM, 11);
    const { framer, frames } = collect();
    framer.push(buffer.subarray(11, 11 + STREAM.length));
    expect(frames).toEqual(EXPECTED);

    const bad = Uint8Array.of(...CD_EMPTY, 0, 1, 0, 0, 1, 2, 3, 4, 0x80, 0x80);
    const failing = collect();
    expect(() => {
      failing.framer.push(bad.subarray(0, bad.length - 2));
    }).toThrow('stream: magic cookie 0x01020304, expected 0x2112a442');
    expect(failing.frames).toHaveLength(1);
  });

  it('does not judge a STUN header before its magic cookie has arrived', () => {
    const { framer, frames } = collect();
    framer.push(STUN.subarray(0, 7));
    expect(frames).toHaveLength(0);
    framer.push(STUN.subarray(7));
    expect(frames).toHaveLength(1);
  });

  it('rejects frames over maxFrameBytes', () => {
    const { framer } = collect({ maxFrameBytes: 8 });
    framer.push(CD_ALIGNED);
    expect(() => {
      framer.push(CD_PADDED);
    }).toThrow('stream: channel-data frame of 9 bytes exceeds 8');
    const stun = collect({ maxFrameBytes: 32 });
    expect(() => {
      stun.framer.push(STUN);
    }).toThrow(/stream: stun frame of \d+ bytes exceeds 32/);
  });

  it('accepts the largest frames by default', () => {
    const { framer, frames } = collect();
    framer.push(encodeChannelData(0x4000, new Uint8Array(65535), true));
    expect(frames[0]!.bytes).toHaveLength(65539);
  });

  it.each([0, 3, 1.5, Number.NaN])('rejects maxFrameBytes %d at construction', (maxFrameBytes) => {
    expect(() => new StreamFramer(() => undefined, { maxFrameBytes })).toThrow(StunOptionError);
  });

  it('handles a large frame pushed byte by byte in linear time', () => {
    const { framer, frames } = collect();
    const big = encodeChannelData(0x4000, new Uint8Array(65535).fill(7), true);
    const start = performance.now();
    for (let i = 0; i < big.length; i++) {
      framer.push(big.subarray(i, i + 1));
    }
    expect(frames).toHaveLength(1);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
