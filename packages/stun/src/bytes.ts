/**
 * Big-endian (network byte order) integer reads and writes directly on a Uint8Array.
 *
 * These replace `new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)` in the codec's
 * hot paths: a DataView is one more short-lived object per call, and asking a small Uint8Array
 * for its `.buffer` makes V8 move its bytes off the JavaScript heap. Offsets are relative to the
 * array itself (a subarray's `byteOffset` needs no handling). Like DataView, every function
 * throws RangeError if the field does not lie wholly inside the array, rather than reading
 * `undefined` or silently dropping a write. Browser-safe: Uint8Array only.
 * @module
 */

function checkRange(bytes: Uint8Array, offset: number, size: number): void {
  // Written so that NaN fails too.
  if (!(offset >= 0 && offset + size <= bytes.length)) {
    throw new RangeError(
      `${size}-byte field at offset ${offset} is outside the ${bytes.length}-byte array`,
    );
  }
}

/** The byte at `offset`, as DataView.getUint8. Throws RangeError if out of bounds. */
export function readU8(bytes: Uint8Array, offset: number): number {
  checkRange(bytes, offset, 1);
  return bytes[offset] ?? 0;
}

/** The big-endian unsigned 16-bit integer at `offset`, as DataView.getUint16. Throws RangeError if out of bounds. */
export function readU16(bytes: Uint8Array, offset: number): number {
  checkRange(bytes, offset, 2);
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

/**
 * The big-endian unsigned 32-bit integer at `offset` (0..0xFFFFFFFF, never negative), as
 * DataView.getUint32. Throws RangeError if out of bounds.
 */
export function readU32(bytes: Uint8Array, offset: number): number {
  checkRange(bytes, offset, 4);
  return (
    (((bytes[offset] ?? 0) << 24) |
      ((bytes[offset + 1] ?? 0) << 16) |
      ((bytes[offset + 2] ?? 0) << 8) |
      (bytes[offset + 3] ?? 0)) >>>
    0
  );
}

/**
 * Writes `value` as a big-endian 16-bit integer at `offset`, as DataView.setUint16: the value
 * is taken modulo 2^16, so callers range-check it first. Throws RangeError if out of bounds.
 */
export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  checkRange(bytes, offset, 2);
  // Uint8Array stores each element modulo 2^8, which is what masking with 0xff would do.
  bytes[offset] = value >>> 8;
  bytes[offset + 1] = value;
}

/**
 * Writes `value` as a big-endian 32-bit integer at `offset`, as DataView.setUint32: the value
 * is taken modulo 2^32, so callers range-check it first. Throws RangeError if out of bounds.
 */
export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  checkRange(bytes, offset, 4);
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}
