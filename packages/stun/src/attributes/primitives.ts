/**
 * Codec factories for the attribute shapes STUN reuses: integers, flags, opaque bytes and text.
 * @module
 */
import {
  attributePlace,
  checkEncodeOverflow,
  checkOverflow,
  checkSize,
  checkUint,
} from '../attribute.js';
import { readU16, readU32, readU8, writeU16, writeU32 } from '../bytes.js';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import type { AttributeCodec } from '../types.js';
import { decodeUtf8, encodeUtf8 } from '../utf8.js';

const UINT8_MAX = 0xff;
const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffffffff;
const UINT64_MAX = 0xffffffffffffffffn;
/** A 32-bit word: one value byte or 16-bit value followed by reserved (RFFU) bytes. */
const WORD_SIZE = 4;
const UINT64_SIZE = 8;

/** A codec for a 32-bit unsigned integer value (LIFETIME, PRIORITY, ...). */
export function uint32Attribute(type: number, name: string): AttributeCodec<number> {
  return {
    type,
    name,
    encode(value) {
      checkUint(name, value, UINT32_MAX);
      const out = new Uint8Array(WORD_SIZE);
      writeU32(out, 0, value);
      return out;
    },
    decode(bytes) {
      checkSize(name, bytes.length, WORD_SIZE);
      return readU32(bytes, 0);
    },
  };
}

/**
 * A codec for a 64-bit unsigned integer value as a bigint (ICE-CONTROLLED, ICE-CONTROLLING).
 * ICE-only and off the TURN hot path, so it keeps DataView's bigint accessors.
 */
export function uint64Attribute(type: number, name: string): AttributeCodec<bigint> {
  return {
    type,
    name,
    encode(value) {
      if (value < 0n || value > UINT64_MAX) {
        throw new StunEncodeError(attributePlace(name), `value ${value} out of range 0..2^64-1`);
      }
      const out = new Uint8Array(UINT64_SIZE);
      new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(0, value);
      return out;
    },
    decode(bytes) {
      checkSize(name, bytes.length, UINT64_SIZE);
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0);
    },
  };
}

/** A codec for one value byte followed by 3 reserved (RFFU) bytes, which are ignored. */
export function paddedUint8Attribute(type: number, name: string): AttributeCodec<number> {
  return {
    type,
    name,
    encode(value) {
      checkUint(name, value, UINT8_MAX);
      const out = new Uint8Array(WORD_SIZE);
      out[0] = value;
      return out;
    },
    decode(bytes) {
      checkSize(name, bytes.length, WORD_SIZE);
      return readU8(bytes, 0);
    },
  };
}

/** A codec for a 16-bit value followed by 2 reserved (RFFU) bytes, which are ignored. */
export function paddedUint16Attribute(type: number, name: string): AttributeCodec<number> {
  return {
    type,
    name,
    encode(value) {
      checkUint(name, value, UINT16_MAX);
      const out = new Uint8Array(WORD_SIZE);
      writeU16(out, 0, value);
      return out;
    },
    decode(bytes) {
      checkSize(name, bytes.length, WORD_SIZE);
      return readU16(bytes, 0);
    },
  };
}

/** A codec for an attribute whose presence is the value: empty on the wire, decoded as `true`. */
export function flagAttribute(type: number, name: string): AttributeCodec<true> {
  return {
    type,
    name,
    encode: () => new Uint8Array(0),
    decode(bytes) {
      checkSize(name, bytes.length, 0);
      return true;
    },
  };
}

/** Size limits of an opaque-bytes attribute. */
export interface BytesLimits {
  /** Exact size in bytes, if fixed. */
  readonly size?: number;
  /** Largest size in bytes (default: the 16-bit attribute length limit). */
  readonly maxBytes?: number;
}

/**
 * A codec for opaque bytes. Decoded values are views of the message buffer
 * (valid until that buffer is reused); encoding does not copy the given array.
 */
export function bytesAttribute(
  type: number,
  name: string,
  limits: BytesLimits = {},
): AttributeCodec<Uint8Array> {
  const { size, maxBytes = UINT16_MAX } = limits;
  const violation = (got: number): string | undefined => {
    if (size !== undefined) {
      return got === size ? undefined : `length ${got}, expected ${size}`;
    }
    return got > maxBytes ? `length ${got}, max ${maxBytes}` : undefined;
  };
  return {
    type,
    name,
    encode(value) {
      const reason = violation(value.length);
      if (reason !== undefined) {
        throw new StunEncodeError(attributePlace(name), reason);
      }
      return value;
    },
    decode(bytes) {
      const reason = violation(bytes.length);
      if (reason !== undefined) {
        throw new StunDecodeError(attributePlace(name), reason);
      }
      return bytes;
    },
  };
}

/** A codec for UTF-8 text of at most `maxBytes` bytes (USERNAME, REALM, NONCE, SOFTWARE, ...). */
export function textAttribute(
  type: number,
  name: string,
  maxBytes: number,
): AttributeCodec<string> {
  return {
    type,
    name,
    encode(value) {
      const bytes = encodeUtf8(attributePlace(name), value);
      checkEncodeOverflow(name, bytes.length, maxBytes);
      return bytes;
    },
    decode(bytes) {
      checkOverflow(name, bytes.length, maxBytes);
      return decodeUtf8(attributePlace(name), bytes);
    },
  };
}
