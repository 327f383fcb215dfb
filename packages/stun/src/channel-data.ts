/**
 * ChannelData messages: the 4-byte-header framing TURN uses for channel traffic. RFC 8656 §12.4.
 * @module
 */
import { padLength } from './attribute.js';
import { readU16, readU8, writeU16 } from './bytes.js';
import {
  CHANNEL_DATA_HEADER_LENGTH,
  MAX_LEGACY_CHANNEL_NUMBER,
  MIN_CHANNEL_NUMBER,
} from './constants.js';
import { StunDecodeError, StunEncodeError } from './errors.js';
import type { ChannelData } from './types.js';

/** Largest ChannelData payload (16-bit length field). RFC 8656 §12.4. */
const MAX_DATA_LENGTH = 0xffff;
/** First byte of every valid ChannelData message: channel numbers 0x4000..0x7FFF (RFC 5766 range). */
const MIN_FIRST_BYTE = MIN_CHANNEL_NUMBER >> 8;
const MAX_FIRST_BYTE = MAX_LEGACY_CHANNEL_NUMBER >> 8;

function hex(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

function isChannelNumber(channelNumber: number): boolean {
  return (
    Number.isInteger(channelNumber) &&
    channelNumber >= MIN_CHANNEL_NUMBER &&
    channelNumber <= MAX_LEGACY_CHANNEL_NUMBER
  );
}

/**
 * Cheap test that `bytes` look like ChannelData: at least 4 bytes and a first byte of
 * 0x40..0x7F (channel numbers 0x4000..0x7FFF, the RFC 5766 range). STUN messages start with 0x00..0x3F. RFC 8656 §12.4.
 */
export function isChannelData(bytes: Uint8Array): boolean {
  if (bytes.length < CHANNEL_DATA_HEADER_LENGTH) {
    return false;
  }
  const first = readU8(bytes, 0);
  return first >= MIN_FIRST_BYTE && first <= MAX_FIRST_BYTE;
}

/**
 * Decodes a ChannelData message. Trailing bytes after the data (padding, RFC 8656 §12.5) are
 * allowed and ignored. `data` views `bytes`: it is valid until that buffer is reused.
 * Throws StunDecodeError if there are fewer than 4 bytes, the channel number is outside
 * 0x4000..0x7FFF, or the length field exceeds the bytes after the header. RFC 8656 §12.4.
 */
export function decodeChannelData(bytes: Uint8Array): ChannelData {
  if (bytes.length < CHANNEL_DATA_HEADER_LENGTH) {
    throw new StunDecodeError(
      'channel-data',
      `length ${bytes.length}, expected at least ${CHANNEL_DATA_HEADER_LENGTH}`,
    );
  }
  const channelNumber = readU16(bytes, 0);
  const length = readU16(bytes, 2);
  if (!isChannelNumber(channelNumber)) {
    throw new StunDecodeError(
      'channel-data',
      `channel number ${hex(channelNumber)} out of range 0x4000..0x7fff`,
    );
  }
  const available = bytes.length - CHANNEL_DATA_HEADER_LENGTH;
  if (length > available) {
    throw new StunDecodeError(
      'channel-data',
      `length field ${length} exceeds the ${available} bytes after the header`,
    );
  }
  return {
    channelNumber,
    data: bytes.subarray(CHANNEL_DATA_HEADER_LENGTH, CHANNEL_DATA_HEADER_LENGTH + length),
  };
}

/**
 * Writes a ChannelData header (channel number, data length) into `target` at `offset`, so a
 * caller can place the data after it without another copy. RFC 8656 §12.4.
 * Throws StunEncodeError if the channel number is outside 0x4000..0x7FFF, the length exceeds
 * 0xFFFF, or the header does not fit in `target`.
 */
export function writeChannelDataHeader(
  target: Uint8Array,
  offset: number,
  channelNumber: number,
  length: number,
): void {
  if (!isChannelNumber(channelNumber)) {
    throw new StunEncodeError(
      'channel-data',
      `channel number ${String(channelNumber)} out of range 0x4000..0x7fff`,
    );
  }
  if (!Number.isInteger(length) || length < 0 || length > MAX_DATA_LENGTH) {
    throw new StunEncodeError(
      'channel-data',
      `length ${length} out of range 0..${MAX_DATA_LENGTH}`,
    );
  }
  if (
    !Number.isInteger(offset) ||
    offset < 0 ||
    offset + CHANNEL_DATA_HEADER_LENGTH > target.length
  ) {
    throw new StunEncodeError(
      'channel-data',
      `header at offset ${offset} does not fit in ${target.length} bytes`,
    );
  }
  writeU16(target, offset, channelNumber);
  writeU16(target, offset + 2, length);
}

/**
 * Encodes a ChannelData message. With `pad`, zero bytes are appended up to a multiple of 4,
 * as RFC 8656 §12.5 requires over TCP and TLS (over UDP padding is optional). RFC 8656 §12.4.
 * Throws StunEncodeError for an invalid channel number or data over 65535 bytes.
 */
export function encodeChannelData(
  channelNumber: number,
  data: Uint8Array,
  pad: boolean,
): Uint8Array {
  const size = CHANNEL_DATA_HEADER_LENGTH + (pad ? padLength(data.length) : data.length);
  const out = new Uint8Array(size);
  writeChannelDataHeader(out, 0, channelNumber, data.length);
  out.set(data, CHANNEL_DATA_HEADER_LENGTH);
  out.fill(0, CHANNEL_DATA_HEADER_LENGTH + data.length);
  return out;
}
