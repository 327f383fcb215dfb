/**
 * Attribute entries for the message builder and the shared size checks of attribute codecs.
 * @module
 */
import { StunDecodeError, StunEncodeError } from './errors.js';
import type { AttributeCodec, AttributeEntry, CodecContext } from './types.js';

/** Attribute values are padded to a multiple of this many bytes. RFC 8489 §14. */
export const ATTRIBUTE_ALIGNMENT = 4;

/** Largest value an attribute length field can hold. RFC 8489 §14. */
export const MAX_ATTRIBUTE_VALUE_LENGTH = 0xffff;

/**
 * Builds an attribute entry for `encodeMessage` from a typed codec and its value.
 * The value is encoded when the message is encoded. RFC 8489 §14.
 *
 * @example
 * encodeMessage({ ..., attributes: [attr(lifetime, 600), attr(software, 'cloudproxy')] });
 */
export function attr<T>(codec: AttributeCodec<T>, value: T): AttributeEntry {
  return {
    type: codec.type,
    encode: (ctx: CodecContext) => codec.encode(value, ctx),
  };
}

/**
 * Builds an attribute entry from an already-encoded value of any type (for example an
 * attribute this package has no codec for). The bytes are copied when the message is encoded.
 */
export function rawAttr(type: number, value: Uint8Array): AttributeEntry {
  return { type, encode: () => value };
}

/** Rounds a length up to the 4-byte attribute alignment. RFC 8489 §14. */
export function padLength(length: number): number {
  return (length + ATTRIBUTE_ALIGNMENT - 1) & ~(ATTRIBUTE_ALIGNMENT - 1);
}

/** The `place` of a decode or encode error about attribute `name`. */
export function attributePlace(name: string): string {
  return `attribute/${name}`;
}

/** Throws StunDecodeError naming the attribute unless `got === expected`. */
export function checkSize(name: string, got: number, expected: number): void {
  if (got !== expected) {
    throw new StunDecodeError(attributePlace(name), `length ${got}, expected ${expected}`);
  }
}

/** Throws StunDecodeError naming the attribute if `got > max`. */
export function checkOverflow(name: string, got: number, max: number): void {
  if (got > max) {
    throw new StunDecodeError(attributePlace(name), `length ${got}, max ${max}`);
  }
}

/** Throws StunEncodeError naming the attribute if an encoded length `got > max`. */
export function checkEncodeOverflow(name: string, got: number, max: number): void {
  if (got > max) {
    throw new StunEncodeError(attributePlace(name), `length ${got}, max ${max}`);
  }
}

/** Throws StunEncodeError unless `value` is an integer in `0..max`. */
export function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new StunEncodeError(attributePlace(name), `value ${value} out of range 0..${max}`);
  }
}
