/**
 * StreamFramer: splits a TCP/TLS byte stream into STUN messages and ChannelData frames.
 * @module
 */
import { padLength } from './attribute.js';
import { readU16, readU32, readU8 } from './bytes.js';
import {
  CHANNEL_DATA_HEADER_LENGTH,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  MAX_MESSAGE_LENGTH,
} from './constants.js';
import { StunDecodeError, StunOptionError } from './errors.js';

/** Options of StreamFramer. */
export interface StreamFramerOptions {
  /** Largest frame accepted, header included; larger ones fail the stream. Default MAX_MESSAGE_LENGTH. */
  readonly maxFrameBytes?: number;
}

/** Kind of a frame found in the stream. */
export type FrameKind = 'stun' | 'channel-data';

/**
 * Receives each frame. `frame` is a view of a pushed chunk or a fresh copy made by the framer;
 * the framer never writes to either afterwards, so the frame stays valid as long as the chunk's
 * own memory is not reused by whoever pushed it.
 */
export type FrameHandler = (frame: Uint8Array, kind: FrameKind) => void;

/** Bytes needed to classify a frame: the STUN header up to and including the magic cookie. */
const PEEK_LENGTH = 8;
/** The frame kind is the top two bits of the first byte. RFC 8656 §12.4. */
const KIND_SHIFT = 6;
const KIND_STUN = 0b00;
const KIND_CHANNEL_DATA = 0b01;

interface FrameInfo {
  readonly kind: FrameKind;
  /** Bytes delivered: the STUN message, or the ChannelData header and data. */
  readonly length: number;
  /** Bytes after the frame to discard: ChannelData padding to a multiple of 4. */
  readonly padding: number;
}

/**
 * StreamFramer splits a TCP or TLS byte stream into STUN messages (20 + length bytes) and
 * ChannelData messages (4 + length bytes, delivered without their padding, which is consumed
 * from the stream: RFC 8656 §12.5). The first two bits of a frame select its kind: 00 STUN,
 * 01 ChannelData (channels 0x4000..0x7FFF, the RFC 5766 range). RFC 8656 §12.4, §12.5.
 *
 * `push` accepts any chunking, from single bytes to many frames at once, copying each byte at
 * most twice. A frame wholly inside one chunk is delivered as a view of it; any frame is valid
 * only during the `onFrame` call, so copy it to keep it. The framer never keeps a reference to
 * a chunk after `push` returns. It is not reentrant: do not call `push` from `onFrame`.
 *
 * On garbage (first bits 10 or 11, a STUN length not a multiple of 4, a bad
 * magic cookie) or a frame over `maxFrameBytes`, `push` throws StunDecodeError (place `stream`)
 * and the framer stays failed: every later `push` throws the same error. The connection should
 * be closed. An error thrown by `onFrame` propagates without failing the framer.
 */
export class StreamFramer {
  readonly #onFrame: FrameHandler;
  readonly #maxFrameBytes: number;
  /** Pending chunks; the first is consumed from #headOffset on. */
  #chunks: Uint8Array[] = [];
  #headOffset = 0;
  #buffered = 0;
  /** ChannelData padding still to discard. */
  #skip = 0;
  #error: StunDecodeError | undefined;
  readonly #peekBuffer = new Uint8Array(PEEK_LENGTH);

  constructor(onFrame: FrameHandler, options: StreamFramerOptions = {}) {
    const { maxFrameBytes = MAX_MESSAGE_LENGTH } = options;
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < CHANNEL_DATA_HEADER_LENGTH) {
      throw new StunOptionError(
        `maxFrameBytes must be an integer >= ${CHANNEL_DATA_HEADER_LENGTH}, got ${maxFrameBytes}`,
      );
    }
    this.#onFrame = onFrame;
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet delivered or discarded. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Feeds the next bytes of the stream, delivering every frame they complete. */
  push(chunk: Uint8Array): void {
    if (this.#error !== undefined) {
      throw this.#error;
    }
    if (chunk.length === 0) {
      return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    try {
      this.#drain();
    } finally {
      this.#detach(chunk);
    }
  }

  #drain(): void {
    for (;;) {
      this.#discard();
      if (this.#skip > 0) {
        return;
      }
      const frame = this.#nextFrame();
      if (frame === undefined || this.#buffered < frame.length) {
        return;
      }
      const bytes = this.#take(frame.length);
      this.#skip = frame.padding;
      this.#onFrame(bytes, frame.kind);
    }
  }

  /** Classifies the frame at the head of the stream, or returns undefined until enough bytes arrive. */
  #nextFrame(): FrameInfo | undefined {
    const chunk = this.#chunks[0];
    // Usually the first chunk holds the whole peek: classify the frame in place, without a copy.
    if (chunk !== undefined && chunk.length - this.#headOffset >= PEEK_LENGTH) {
      return this.#classify(chunk, this.#headOffset);
    }
    const head = this.#peek();
    return head === undefined ? undefined : this.#classify(head, 0);
  }

  /**
   * Classifies the frame whose first bytes are at `head[at..]`: PEEK_LENGTH of them, or only
   * CHANNEL_DATA_HEADER_LENGTH if they start ChannelData.
   */
  #classify(head: Uint8Array, at: number): FrameInfo {
    const first = readU16(head, at);
    const length = readU16(head, at + 2);
    const kind = readU8(head, at) >> KIND_SHIFT;
    let frame: FrameInfo;
    if (kind === KIND_STUN) {
      frame = this.#stunFrame(head, at, length);
    } else if (kind === KIND_CHANNEL_DATA) {
      const padded = padLength(length);
      frame = {
        kind: 'channel-data',
        length: CHANNEL_DATA_HEADER_LENGTH + length,
        padding: padded - length,
      };
    } else {
      this.#fail(`first byte 0x${(first >> 8).toString(16)} starts neither stun nor channel data`);
    }
    if (frame.length > this.#maxFrameBytes) {
      this.#fail(`${frame.kind} frame of ${frame.length} bytes exceeds ${this.#maxFrameBytes}`);
    }
    return frame;
  }

  #stunFrame(head: Uint8Array, at: number, length: number): FrameInfo {
    if (length % 4 !== 0) {
      this.#fail(`stun message length ${length} is not a multiple of 4`);
    }
    const cookie = readU32(head, at + 4);
    if (cookie !== MAGIC_COOKIE) {
      this.#fail(`magic cookie 0x${cookie.toString(16).padStart(8, '0')}, expected 0x2112a442`);
    }
    return { kind: 'stun', length: HEADER_LENGTH + length, padding: 0 };
  }

  #fail(reason: string): never {
    this.#error = new StunDecodeError('stream', reason);
    throw this.#error;
  }

  /** Copies the first PEEK_LENGTH buffered bytes into the scratch buffer, if available. */
  #peek(): Uint8Array | undefined {
    if (this.#buffered < PEEK_LENGTH) {
      // STUN needs 8 bytes (the cookie check); ChannelData, possibly empty, only its 4-byte header.
      return this.#buffered >= CHANNEL_DATA_HEADER_LENGTH ? this.#peekShort() : undefined;
    }
    this.#copyOut(this.#peekBuffer, PEEK_LENGTH);
    return this.#peekBuffer;
  }

  /** With 4..7 bytes buffered, only a ChannelData header can be classified. */
  #peekShort(): Uint8Array | undefined {
    this.#copyOut(this.#peekBuffer, CHANNEL_DATA_HEADER_LENGTH);
    const kind = readU8(this.#peekBuffer, 0) >> KIND_SHIFT;
    return kind === KIND_STUN ? undefined : this.#peekBuffer;
  }

  /** Copies the first `length` buffered bytes into `target` without consuming them. */
  #copyOut(target: Uint8Array, length: number): void {
    let copied = 0;
    let offset = this.#headOffset;
    for (const chunk of this.#chunks) {
      const n = Math.min(length - copied, chunk.length - offset);
      target.set(chunk.subarray(offset, offset + n), copied);
      copied += n;
      offset = 0;
      if (copied === length) {
        return;
      }
    }
  }

  /** Removes `length` buffered bytes: a view if they lie in one chunk, else one copy. */
  #take(length: number): Uint8Array {
    const [first] = this.#chunks;
    if (first !== undefined && first.length - this.#headOffset >= length) {
      const view = first.subarray(this.#headOffset, this.#headOffset + length);
      this.#consume(length);
      return view;
    }
    const out = new Uint8Array(length);
    this.#copyOut(out, length);
    this.#consume(length);
    return out;
  }

  /** Discards pending ChannelData padding. */
  #discard(): void {
    const n = Math.min(this.#skip, this.#buffered);
    this.#consume(n);
    this.#skip -= n;
  }

  /** Drops `length` bytes from the head of the queue (at most `#buffered`). */
  #consume(length: number): void {
    this.#buffered -= length;
    let remaining = length;
    let drop = 0;
    for (const chunk of this.#chunks) {
      const available = chunk.length - this.#headOffset;
      if (remaining < available) {
        this.#headOffset += remaining;
        break;
      }
      remaining -= available;
      this.#headOffset = 0;
      drop++;
    }
    if (drop > 0) {
      this.#chunks.splice(0, drop);
    }
  }

  /** Replaces the caller's chunk, if still queued, with a copy of its unconsumed bytes. */
  #detach(chunk: Uint8Array): void {
    const last = this.#chunks.length - 1;
    if (last < 0 || this.#chunks[last] !== chunk) {
      return;
    }
    const start = last === 0 ? this.#headOffset : 0;
    this.#chunks[last] = new Uint8Array(chunk.subarray(start)); // a copy even for a Node Buffer
    if (last === 0) {
      this.#headOffset = 0;
    }
  }
}
