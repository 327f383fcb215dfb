/**
 * The wire side of the TURN-over-TLS load generator, pure and without I/O: a parser that splits
 * the received byte stream into ChannelData and STUN frames (RFC 8656 §12.4, §12.5), the layout
 * of the load's ChannelData frames (a marker, the sequence number and the send time from
 * `process.hrtime`), and a mergeable round-trip histogram with 1-µs resolution below 1 ms.
 *
 * The parser is the benchmark's own, independent of the server's framer: an instrument that
 * shared the server's parsing would share its mistakes.
 * @module
 */

/** Bytes of a ChannelData header (channel number, length). RFC 8656 §12.4. */
export const CHANNEL_HEADER_BYTES = 4;
/** Bytes of a STUN header. RFC 8489 §5. */
export const STUN_HEADER_BYTES = 20;
/** First bytes of every load payload, so a mis-parsed frame is counted, not timed. */
export const PAYLOAD_MARKER = 0x43504c44;
/** Payload bytes before the filler: marker, sequence, seconds, nanoseconds (4 × u32). */
export const PAYLOAD_HEADER_BYTES = 16;

/** `length` rounded up to a multiple of 4 (ChannelData padding over streams, RFC 8656 §12.5). */
export const padded4 = (length) => (length + 3) & ~3;

/**
 * Splits a TURN byte stream (TCP or TLS) into frames, whatever the chunking: a frame may span
 * chunks, a chunk may hold many frames. The first two bits select the kind: 00 STUN (20 bytes +
 * the length field), 01 ChannelData (4 bytes + the length field, padded to 4 over streams).
 * Anything else is garbage: the stream cannot be resynchronized, so the parser fails for good.
 */
export class TurnStreamParser {
  #onChannelData;
  #onStun;
  #pending;
  #failed;

  /**
   * @param {(buf: Buffer, start: number, channel: number, length: number) => void} onChannelData
   *   a ChannelData frame whose data is `buf[start, start + length)` (valid during the call)
   * @param {(frame: Buffer) => void} onStun a whole STUN message (valid during the call)
   */
  constructor(onChannelData, onStun) {
    this.#onChannelData = onChannelData;
    this.#onStun = onStun;
  }

  /** Why the stream failed, or undefined. */
  get failure() {
    return this.#failed;
  }

  /** Bytes received but not yet delivered (the start of an incomplete frame). */
  get bufferedBytes() {
    return this.#pending?.length ?? 0;
  }

  /** Feeds the next bytes of the stream; delivers every frame they complete. */
  push(chunk) {
    if (this.#failed) return;
    let buf = chunk;
    if (this.#pending) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    const end = buf.length;
    let at = 0;
    while (end - at >= CHANNEL_HEADER_BYTES) {
      const kind = buf[at] >> 6;
      const length = buf.readUInt16BE(at + 2);
      if (kind === 1) {
        const size = CHANNEL_HEADER_BYTES + padded4(length);
        if (end - at < size) break;
        this.#onChannelData(buf, at + CHANNEL_HEADER_BYTES, buf.readUInt16BE(at), length);
        at += size;
      } else if (kind === 0) {
        if (length % 4 !== 0) {
          this.#failed = `STUN length ${length} is not a multiple of 4 at stream byte ${at}`;
          return;
        }
        const size = STUN_HEADER_BYTES + length;
        if (end - at < size) break;
        this.#onStun(buf.subarray(at, at + size));
        at += size;
      } else {
        this.#failed = `first byte 0x${buf[at].toString(16)} is neither STUN nor ChannelData`;
        return;
      }
    }
    if (at < end) this.#pending = Buffer.from(buf.subarray(at));
  }
}

/** A ChannelData frame of the load (header + payload of `payloadBytes`, ≥ 16) to copy from. */
export function frameTemplate(channel, payloadBytes) {
  if (payloadBytes < PAYLOAD_HEADER_BYTES) {
    throw new Error(`payload must be ≥ ${PAYLOAD_HEADER_BYTES} bytes, got ${payloadBytes}`);
  }
  const frame = Buffer.alloc(CHANNEL_HEADER_BYTES + padded4(payloadBytes));
  frame.writeUInt16BE(channel, 0);
  frame.writeUInt16BE(payloadBytes, 2);
  frame.writeUInt32BE(PAYLOAD_MARKER, 4);
  for (let i = CHANNEL_HEADER_BYTES + PAYLOAD_HEADER_BYTES; i < 4 + payloadBytes; i++) {
    frame[i] = i & 0xff;
  }
  return frame;
}

/**
 * `count` frames of `template` in one buffer (one socket write), sequence numbers from
 * `firstSeq`, stamped with `time` (`process.hrtime()`: [seconds, nanoseconds]).
 */
export function buildFrames(template, count, firstSeq, time) {
  const size = template.length;
  const out = Buffer.allocUnsafe(size * count);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    template.copy(out, at);
    out.writeUInt32BE((firstSeq + i) >>> 0, at + 8);
    out.writeUInt32BE(time[0] >>> 0, at + 12);
    out.writeUInt32BE(time[1], at + 16);
  }
  return out;
}

/**
 * The round trip in µs of a received load payload at `buf[start…]` at time `now`
 * (`process.hrtime()`), or -1 when the payload is not one of ours (marker missing, too short).
 */
export function payloadRttUs(buf, start, length, now) {
  if (length < PAYLOAD_HEADER_BYTES || buf.readUInt32BE(start) !== PAYLOAD_MARKER) return -1;
  const seconds = buf.readUInt32BE(start + 8);
  const nanos = buf.readUInt32BE(start + 12);
  return (now[0] - seconds) * 1e6 + (now[1] - nanos) / 1e3;
}

/**
 * The figures derived from what was offered and received over `spanS` seconds (the sending
 * window, or up to the last answer when later): loss and the received rate.
 */
export function deliveryFigures(offered, received, spanS) {
  return {
    lost: offered - received,
    lossPercent: (Math.max(0, offered - received) / Math.max(1, offered)) * 100,
    msgPerS: received / Math.max(spanS, 1e-3),
  };
}

/** Sub-buckets per power of two above 1,024 µs (relative error below 1%). */
const SUB_BUCKETS = 128;

/** The lower bound (µs) of the histogram bucket holding `us`. */
export function bucketOf(us) {
  if (us < 1024) return Math.max(0, Math.floor(us));
  const exponent = Math.floor(Math.log2(us));
  const base = 2 ** exponent;
  const step = base / SUB_BUCKETS;
  return base + Math.floor((us - base) / step) * step;
}

/**
 * Round trips: count, sum, max, and buckets exact to the µs below 1 ms, within 1% above; two
 * histograms (of two load processes) merge by adding their buckets.
 */
export class RttHistogram {
  count = 0;
  sumUs = 0;
  maxUs = 0;
  /** @type {Map<number, number>} bucket lower bound (µs) → count */
  buckets = new Map();

  /** Adds one round trip of `us` microseconds. */
  add(us) {
    this.count++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
    const key = bucketOf(us);
    this.buckets.set(key, (this.buckets.get(key) ?? 0) + 1);
  }

  /** Adds every bucket of `other` (a histogram or its JSON form). */
  merge(other) {
    this.count += other.count;
    this.sumUs += other.sumUs;
    this.maxUs = Math.max(this.maxUs, other.maxUs);
    const entries = other.buckets instanceof Map ? other.buckets : new Map(other.buckets);
    for (const [key, n] of entries) this.buckets.set(key, (this.buckets.get(key) ?? 0) + n);
    return this;
  }

  /** The lower bound of the bucket holding the `p`-th percentile (0–100); undefined if empty. */
  percentile(p) {
    if (!this.count) return undefined;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const key of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(key);
      if (seen >= rank) return key;
    }
    return this.maxUs;
  }

  /** Average, p50, p99 and max in µs (undefined when empty). */
  summary() {
    if (!this.count) return { count: 0 };
    return {
      count: this.count,
      avgUs: this.sumUs / this.count,
      p50Us: this.percentile(50),
      p99Us: this.percentile(99),
      maxUs: this.maxUs,
    };
  }

  /** A plain form that `merge` accepts. */
  toJSON() {
    return {
      count: this.count,
      sumUs: this.sumUs,
      maxUs: this.maxUs,
      buckets: [...this.buckets].sort((a, b) => a[0] - b[0]),
    };
  }
}
