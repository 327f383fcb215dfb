/**
 * STUN message encoding: header, attributes with zeroed padding, then MESSAGE-INTEGRITY,
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT.
 * @module
 */
import { MAX_ATTRIBUTE_VALUE_LENGTH, attributePlace, padLength } from './attribute.js';
import { attributeName } from './attributes/registry.js';
import { writeU16, writeU32 } from './bytes.js';
import {
  MESSAGE_INTEGRITY_SHA256_SIZE,
  MESSAGE_INTEGRITY_SIZE,
  FINGERPRINT_SIZE,
} from './attributes/integrity.js';
import {
  ATTRIBUTE_HEADER_LENGTH,
  AttrType,
  FINGERPRINT_XOR,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  TRANSACTION_ID_LENGTH,
} from './constants.js';
import { crc32 } from './crc32.js';
import { StunEncodeError } from './errors.js';
import { encodeMessageType } from './message-type.js';
import type { MessageSpec, StunCrypto } from './types.js';

/** Largest value of the message length field. RFC 8489 §5. */
const MAX_BODY_LENGTH = 0xffff;
/** Largest attribute type. RFC 8489 §14. */
const MAX_ATTRIBUTE_TYPE = 0xffff;
/** Offset of the message length field in the header. RFC 8489 §5. */
const LENGTH_OFFSET = 2;

/**
 * Writes one attribute (header, value, zeroed padding) at `offset`; returns the next offset.
 * Padding is zeroed explicitly so a reused buffer never leaks old bytes. RFC 8489 §14.
 */
function writeAttribute(out: Uint8Array, offset: number, type: number, value: Uint8Array): number {
  writeAttributeHeader(out, offset, type, value.length);
  const valueStart = offset + ATTRIBUTE_HEADER_LENGTH;
  out.set(value, valueStart);
  const end = valueStart + padLength(value.length);
  out.fill(0, valueStart + value.length, end);
  return end;
}

/** Writes an attribute's type and value length at `offset`. RFC 8489 §14. */
function writeAttributeHeader(out: Uint8Array, offset: number, type: number, length: number): void {
  writeU16(out, offset, type);
  writeU16(out, offset + 2, length);
}

/** Size of an attribute on the wire: header plus padded value. */
function wireSize(valueLength: number): number {
  return ATTRIBUTE_HEADER_LENGTH + padLength(valueLength);
}

function requireCrypto(crypto: StunCrypto | undefined, what: string): StunCrypto {
  if (crypto === undefined) {
    throw new StunEncodeError(attributePlace(what), 'a key was given without a StunCrypto');
  }
  return crypto;
}

function checkDigest(name: string, digest: Uint8Array, expected: number): Uint8Array {
  if (digest.length !== expected) {
    throw new StunEncodeError(
      attributePlace(name),
      `StunCrypto returned ${digest.length} bytes, expected ${expected}`,
    );
  }
  return digest;
}

/** Appends the integrity attributes and FINGERPRINT that `spec` asks for, from `offset` on. */
function appendTrailer(
  out: Uint8Array,
  start: number,
  spec: MessageSpec,
  crypto: StunCrypto | undefined,
): void {
  let offset = start;
  // Each value covers the message up to its own attribute, with the length field already
  // counting that attribute. RFC 8489 §14.5, §14.6, §14.7.
  if (spec.integrityKey !== undefined) {
    const hashes = requireCrypto(crypto, 'MESSAGE-INTEGRITY');
    writeU16(out, LENGTH_OFFSET, offset + wireSize(MESSAGE_INTEGRITY_SIZE) - HEADER_LENGTH);
    const digest = hashes.hmacSha1(spec.integrityKey, out.subarray(0, offset));
    checkDigest('MESSAGE-INTEGRITY', digest, MESSAGE_INTEGRITY_SIZE);
    offset = writeAttribute(out, offset, AttrType.MessageIntegrity, digest);
  }
  if (spec.integritySha256Key !== undefined) {
    const hashes = requireCrypto(crypto, 'MESSAGE-INTEGRITY-SHA256');
    writeU16(out, LENGTH_OFFSET, offset + wireSize(MESSAGE_INTEGRITY_SHA256_SIZE) - HEADER_LENGTH);
    const digest = hashes.hmacSha256(spec.integritySha256Key, out.subarray(0, offset));
    checkDigest('MESSAGE-INTEGRITY-SHA256', digest, MESSAGE_INTEGRITY_SHA256_SIZE);
    offset = writeAttribute(out, offset, AttrType.MessageIntegritySha256, digest);
  }
  if (spec.fingerprint === true) {
    writeU16(out, LENGTH_OFFSET, offset + wireSize(FINGERPRINT_SIZE) - HEADER_LENGTH);
    const crc = crc32(out.subarray(0, offset));
    // Written in place: a 4-byte value needs no padding and no buffer of its own.
    writeAttributeHeader(out, offset, AttrType.Fingerprint, FINGERPRINT_SIZE);
    writeU32(out, offset + ATTRIBUTE_HEADER_LENGTH, (crc ^ FINGERPRINT_XOR) >>> 0);
  }
  writeU16(out, LENGTH_OFFSET, out.length - HEADER_LENGTH);
}

/** Size of the integrity attributes and FINGERPRINT that `spec` asks for. */
function trailerSize(spec: MessageSpec): number {
  return (
    (spec.integrityKey !== undefined ? wireSize(MESSAGE_INTEGRITY_SIZE) : 0) +
    (spec.integritySha256Key !== undefined ? wireSize(MESSAGE_INTEGRITY_SHA256_SIZE) : 0) +
    (spec.fingerprint === true ? wireSize(FINGERPRINT_SIZE) : 0)
  );
}

/**
 * Encodes a STUN message into one buffer of its final size. Attributes are written in the
 * given order with zeroed padding; then MESSAGE-INTEGRITY (if `integrityKey`),
 * MESSAGE-INTEGRITY-SHA256 (if `integritySha256Key`, full 32 bytes) and FINGERPRINT (if
 * `fingerprint`) are appended, each computed with the length field adjusted to cover it.
 * RFC 8489 §5, §14.5-14.7.
 *
 * Throws StunEncodeError if an attribute value is invalid or too long, the message exceeds the
 * 16-bit length field, the transaction ID is not 12 bytes, or a key is given without `crypto`.
 *
 * @example
 * const bytes = encodeMessage(
 *   { method: Method.Binding, messageClass: MessageClass.SuccessResponse, transactionId,
 *     attributes: [attr(xorMappedAddress, { family: 4, address: '192.0.2.1', port: 32853 })],
 *     fingerprint: true },
 *   nodeStunCrypto,
 * );
 */
export function encodeMessage(spec: MessageSpec, crypto?: StunCrypto): Uint8Array {
  if (spec.transactionId.length !== TRANSACTION_ID_LENGTH) {
    throw new StunEncodeError(
      'header',
      `transaction id length ${spec.transactionId.length}, expected ${TRANSACTION_ID_LENGTH}`,
    );
  }
  const type = encodeMessageType(spec.method, spec.messageClass);
  const ctx = { transactionId: spec.transactionId };
  const encoded = spec.attributes.map((entry) => {
    if (!Number.isInteger(entry.type) || entry.type < 0 || entry.type > MAX_ATTRIBUTE_TYPE) {
      throw new StunEncodeError('message', `attribute type ${entry.type} out of range 0..0xffff`);
    }
    const value = entry.encode(ctx);
    if (value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
      throw new StunEncodeError(
        attributePlace(attributeName(entry.type)),
        `length ${value.length}, max ${MAX_ATTRIBUTE_VALUE_LENGTH}`,
      );
    }
    return { type: entry.type, value };
  });
  const bodyLength =
    encoded.reduce((n, { value }) => n + wireSize(value.length), 0) + trailerSize(spec);
  if (bodyLength > MAX_BODY_LENGTH) {
    throw new StunEncodeError('message', `length ${bodyLength}, max ${MAX_BODY_LENGTH}`);
  }
  const out = new Uint8Array(HEADER_LENGTH + bodyLength);
  writeU16(out, 0, type);
  writeU32(out, 4, MAGIC_COOKIE);
  out.set(spec.transactionId, 8);
  let offset = HEADER_LENGTH;
  for (const { type: attrType, value } of encoded) {
    offset = writeAttribute(out, offset, attrType, value);
  }
  appendTrailer(out, offset, spec, crypto);
  return out;
}

/** A fresh random 12-byte transaction ID from `crypto.getRandomValues`. RFC 8489 §6. */
export function newTransactionId(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(TRANSACTION_ID_LENGTH));
}
