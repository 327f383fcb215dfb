/**
 * Message integrity and fingerprint verification, and long-term credential keys.
 * @module
 */
import {
  ATTRIBUTE_HEADER_LENGTH,
  AttrType,
  FINGERPRINT_XOR,
  HEADER_LENGTH,
  PasswordAlgorithmId,
} from './constants.js';
import {
  FINGERPRINT_SIZE,
  MESSAGE_INTEGRITY_SHA256_SIZE,
  MESSAGE_INTEGRITY_SIZE,
  MIN_MESSAGE_INTEGRITY_SHA256_SIZE,
} from './attributes/integrity.js';
import { readU32, readU8, writeU16 } from './bytes.js';
import { crc32 } from './crc32.js';
import { StunEncodeError } from './errors.js';
import type { StunMessage } from './message.js';
import { saslprep } from './saslprep.js';
import type { RawAttribute, StunCrypto } from './types.js';

const LENGTH_OFFSET = 2;
const textEncoder = new TextEncoder();

/** Compares two byte strings in time independent of where they differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    diff |= readU8(a, i) ^ readU8(b, i);
  }
  return diff === 0;
}

/**
 * The message bytes before `attribute`, with the length field adjusted to end just after it:
 * the input of MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256. RFC 8489 §14.5-14.6.
 */
function signedPrefix(msg: StunMessage, attribute: RawAttribute): Uint8Array {
  // A copy, never a view: the input may be a Node Buffer, whose slice() does not copy.
  const prefix = new Uint8Array(msg.raw.subarray(0, attribute.offset));
  const end = attribute.offset + ATTRIBUTE_HEADER_LENGTH + attribute.value.length;
  writeU16(prefix, LENGTH_OFFSET, end - HEADER_LENGTH);
  return prefix;
}

/**
 * Checks MESSAGE-INTEGRITY (HMAC-SHA1) with `key` (the short-term password bytes or the
 * long-term key). Returns false if the attribute is absent, malformed or wrong. RFC 8489 §14.5.
 */
export function verifyMessageIntegrity(
  msg: StunMessage,
  key: Uint8Array,
  crypto: StunCrypto,
): boolean {
  const attribute = msg.getRaw(AttrType.MessageIntegrity);
  if (attribute?.value.length !== MESSAGE_INTEGRITY_SIZE) {
    return false;
  }
  const expected = crypto.hmacSha1(key, signedPrefix(msg, attribute));
  return constantTimeEqual(attribute.value, expected);
}

/**
 * Checks MESSAGE-INTEGRITY-SHA256 with `key`, accepting values truncated to 16..32 bytes
 * (multiples of 4). Returns false if the attribute is absent, malformed or wrong. RFC 8489 §14.6.
 */
export function verifyMessageIntegritySha256(
  msg: StunMessage,
  key: Uint8Array,
  crypto: StunCrypto,
): boolean {
  const attribute = msg.getRaw(AttrType.MessageIntegritySha256);
  if (attribute === undefined) {
    return false;
  }
  const length = attribute.value.length;
  if (
    length < MIN_MESSAGE_INTEGRITY_SHA256_SIZE ||
    length > MESSAGE_INTEGRITY_SHA256_SIZE ||
    length % 4 !== 0
  ) {
    return false;
  }
  const expected = crypto.hmacSha256(key, signedPrefix(msg, attribute)).subarray(0, length);
  return constantTimeEqual(attribute.value, expected);
}

/**
 * Checks FINGERPRINT: CRC-32 of the message before it, XORed with 0x5354554e. Returns undefined
 * if the message has no FINGERPRINT, false if it is malformed or wrong. RFC 8489 §14.7.
 */
export function verifyFingerprint(msg: StunMessage): boolean | undefined {
  const attribute = msg.getRaw(AttrType.Fingerprint);
  if (attribute === undefined) {
    return undefined;
  }
  if (attribute.value.length !== FINGERPRINT_SIZE) {
    return false;
  }
  // decodeMessage guarantees FINGERPRINT is last, so the length field already counts it.
  const expected = (crc32(msg.raw.subarray(0, attribute.offset)) ^ FINGERPRINT_XOR) >>> 0;
  return readU32(attribute.value, 0) === expected;
}

/**
 * The long-term credential key: MD5 (algorithm 1) or SHA-256 (algorithm 2) of
 * `username ":" realm ":" SASLprep(password)` in UTF-8. RFC 8489 §9.2.2, RFC 4013.
 * Throws StunEncodeError for any other algorithm.
 *
 * @example longTermKey('user', 'example.org', 'secret', PasswordAlgorithmId.Md5, nodeStunCrypto)
 */
export function longTermKey(
  username: string,
  realm: string,
  password: string,
  algorithm: PasswordAlgorithmId,
  crypto: StunCrypto,
): Uint8Array {
  const input = textEncoder.encode(`${username}:${realm}:${saslprep(password)}`);
  switch (algorithm) {
    case PasswordAlgorithmId.Md5:
      return crypto.md5(input);
    case PasswordAlgorithmId.Sha256:
      return crypto.sha256(input);
    default:
      throw new StunEncodeError('long-term-key', `unknown password algorithm ${String(algorithm)}`);
  }
}

/** USERHASH value: SHA-256 of `username ":" realm` in UTF-8. RFC 8489 §14.4. */
export function computeUserhash(username: string, realm: string, crypto: StunCrypto): Uint8Array {
  return crypto.sha256(textEncoder.encode(`${username}:${realm}`));
}
