/**
 * Integrity attributes: MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT values.
 * Computing and checking them is done by `encodeMessage` and `integrity.ts`.
 * @module
 */
import { attributePlace } from '../attribute.js';
import { AttrType } from '../constants.js';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import type { AttributeCodec } from '../types.js';
import { bytesAttribute, uint32Attribute } from './primitives.js';

/** Size of the HMAC-SHA1 in MESSAGE-INTEGRITY. RFC 8489 §14.5. */
export const MESSAGE_INTEGRITY_SIZE = 20;
/** Full size of the HMAC-SHA256 in MESSAGE-INTEGRITY-SHA256. RFC 8489 §14.6. */
export const MESSAGE_INTEGRITY_SHA256_SIZE = 32;
/** Smallest (truncated) MESSAGE-INTEGRITY-SHA256 value. RFC 8489 §14.6. */
export const MIN_MESSAGE_INTEGRITY_SHA256_SIZE = 16;
/** Size of the FINGERPRINT value. RFC 8489 §14.7. */
export const FINGERPRINT_SIZE = 4;

/** MESSAGE-INTEGRITY: HMAC-SHA1 of the message (20 bytes, a view of the input). RFC 8489 §14.5. */
export const messageIntegrity = bytesAttribute(AttrType.MessageIntegrity, 'MESSAGE-INTEGRITY', {
  size: MESSAGE_INTEGRITY_SIZE,
});

const MI_SHA256_NAME = 'MESSAGE-INTEGRITY-SHA256';

/** Reason a MESSAGE-INTEGRITY-SHA256 length is invalid, or undefined if it is valid. */
function sha256LengthViolation(length: number): string | undefined {
  const valid =
    length >= MIN_MESSAGE_INTEGRITY_SHA256_SIZE &&
    length <= MESSAGE_INTEGRITY_SHA256_SIZE &&
    length % 4 === 0;
  return valid ? undefined : `length ${length}, expected 16..32 and a multiple of 4`;
}

/**
 * MESSAGE-INTEGRITY-SHA256: HMAC-SHA256 of the message, possibly truncated to 16..32 bytes
 * in steps of 4 (a view of the input). RFC 8489 §14.6.
 */
export const messageIntegritySha256: AttributeCodec<Uint8Array> = {
  type: AttrType.MessageIntegritySha256,
  name: MI_SHA256_NAME,
  encode(value) {
    const reason = sha256LengthViolation(value.length);
    if (reason !== undefined) {
      throw new StunEncodeError(attributePlace(MI_SHA256_NAME), reason);
    }
    return value;
  },
  decode(bytes) {
    const reason = sha256LengthViolation(bytes.length);
    if (reason !== undefined) {
      throw new StunDecodeError(attributePlace(MI_SHA256_NAME), reason);
    }
    return bytes;
  },
};

/** FINGERPRINT: CRC-32 of the message XORed with 0x5354554e, as a uint32. RFC 8489 §14.7. */
export const fingerprint = uint32Attribute(AttrType.Fingerprint, 'FINGERPRINT');
