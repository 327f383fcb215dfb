/**
 * STUN message decoding: header checks, the attribute walk and the lazily decoded StunMessage.
 * @module
 */
import { padLength } from './attribute.js';
import { ATTRIBUTE_CODECS, attributeName } from './attributes/registry.js';
import { readU16, readU32 } from './bytes.js';
import {
  ATTRIBUTE_HEADER_LENGTH,
  AttrType,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  TRANSACTION_ID_LENGTH,
  isComprehensionRequired,
  type MessageClass,
} from './constants.js';
import { StunDecodeError } from './errors.js';
import { decodeMessageType } from './message-type.js';
import type { AttributeCodec, CodecContext, RawAttribute } from './types.js';

/** Offset of the transaction ID in the header. RFC 8489 §5. */
const TRANSACTION_ID_OFFSET = 8;
/** The two most significant bits of every STUN message are zero. RFC 8489 §5. */
const TOP_BITS_MASK = 0xc000;

/** The fixed header fields of a STUN message. RFC 8489 §5. */
export interface MessageHeader {
  readonly method: number;
  readonly messageClass: MessageClass;
  /** The message length field: bytes after the 20-byte header. */
  readonly length: number;
  /** A view of the 12-byte transaction ID. */
  readonly transactionId: Uint8Array;
}

/** What `decodeMessage` hands to the StunMessage constructor. */
export interface StunMessageInit {
  readonly method: number;
  readonly messageClass: MessageClass;
  readonly transactionId: Uint8Array;
  readonly raw: Uint8Array;
  readonly attributes: readonly RawAttribute[];
  readonly unknownRequired: readonly number[];
}

/**
 * StunMessage is a structurally valid STUN message whose attribute values are decoded on
 * demand. Build one with `decodeMessage`.
 *
 * `raw`, `transactionId` and every attribute value are views of the decoded buffer: they are
 * valid until that buffer is reused. Copy at the I/O boundary to keep them.
 * `attributes` lists the attributes in wire order, except those RFC 8489 §14.5-14.6 say to
 * ignore (after MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256). Each keeps its offset, which
 * integrity verification uses. RFC 8489 §5, §14.
 */
export class StunMessage implements CodecContext {
  /** The method, e.g. `Method.Allocate`; unknown method numbers are kept as-is. */
  readonly method: number;
  readonly messageClass: MessageClass;
  /** The 12-byte transaction ID (a view of `raw`). */
  readonly transactionId: Uint8Array;
  /** The whole message (a view of the decoded input). */
  readonly raw: Uint8Array;
  readonly attributes: readonly RawAttribute[];
  /**
   * Comprehension-required attribute types (≤ 0x7FFF) with no codec in `ATTRIBUTE_CODECS`,
   * in wire order without duplicates: what a 420 response lists. RFC 8489 §6.3.1.
   */
  readonly unknownRequired: readonly number[];
  readonly #cache = new Map<AttributeCodec<unknown>, unknown>();
  #transactionKey: string | undefined;

  constructor(init: StunMessageInit) {
    this.method = init.method;
    this.messageClass = init.messageClass;
    this.transactionId = init.transactionId;
    this.raw = init.raw;
    this.attributes = init.attributes;
    this.unknownRequired = init.unknownRequired;
  }

  /**
   * The decoded value of the first attribute of the codec's type, or undefined if absent.
   * The value is decoded on first use and cached. Throws StunDecodeError if it is malformed.
   */
  get<T>(codec: AttributeCodec<T>): T | undefined {
    const cached = this.#cache.get(codec);
    if (cached !== undefined) {
      return cached as T;
    }
    const raw = this.getRaw(codec.type);
    if (raw === undefined) {
      return undefined;
    }
    const value = codec.decode(raw.value, this);
    this.#cache.set(codec, value);
    return value;
  }

  /** The decoded values of every attribute of the codec's type, in wire order. */
  getAll<T>(codec: AttributeCodec<T>): T[] {
    return this.attributes
      .filter((a) => a.type === codec.type)
      .map((a) => codec.decode(a.value, this));
  }

  /** The first attribute of `type` as found on the wire, or undefined. */
  getRaw(type: number): RawAttribute | undefined {
    return this.attributes.find((a) => a.type === type);
  }

  /** True if an attribute of `type` is present (and not ignored). */
  has(type: number): boolean {
    return this.attributes.some((a) => a.type === type);
  }

  /** The transaction ID as 24 lowercase hex digits: a key for transaction maps. */
  get transactionKey(): string {
    this.#transactionKey ??= hexKey(this.transactionId);
    return this.#transactionKey;
  }
}

/** Two lowercase hex digits for each byte value. */
const HEX_BYTES: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  b.toString(16).padStart(2, '0'),
);

/** `bytes` as lowercase hex, without a per-byte array or padStart. */
function hexKey(bytes: Uint8Array): string {
  let key = '';
  for (const byte of bytes) {
    key += HEX_BYTES[byte] ?? '';
  }
  return key;
}

/**
 * Reads the STUN header if `bytes` start with a plausible one (at least 20 bytes, top two bits
 * zero, magic cookie), without checking the length against `bytes.length`. RFC 8489 §5.
 */
export function readMessageHeader(bytes: Uint8Array): MessageHeader | undefined {
  if (bytes.length < HEADER_LENGTH) {
    return undefined;
  }
  const type = readU16(bytes, 0);
  if ((type & TOP_BITS_MASK) !== 0 || readU32(bytes, 4) !== MAGIC_COOKIE) {
    return undefined;
  }
  return headerOf(bytes, type, readU16(bytes, 2));
}

/** The header fields, built directly (no intermediate MessageType object spread into it). */
function headerOf(bytes: Uint8Array, type: number, length: number): MessageHeader {
  const { method, messageClass } = decodeMessageType(type);
  return {
    method,
    messageClass,
    length,
    transactionId: bytes.subarray(
      TRANSACTION_ID_OFFSET,
      TRANSACTION_ID_OFFSET + TRANSACTION_ID_LENGTH,
    ),
  };
}

/**
 * Cheap test that `bytes` are exactly one STUN message: at least 20 bytes, top two bits zero,
 * the magic cookie, and 20 + length field === bytes.length. RFC 8489 §7.3.
 */
export function isStunMessage(bytes: Uint8Array): boolean {
  const header = readMessageHeader(bytes);
  return header !== undefined && HEADER_LENGTH + header.length === bytes.length;
}

function checkHeader(bytes: Uint8Array): MessageHeader {
  if (bytes.length < HEADER_LENGTH) {
    throw new StunDecodeError(
      'header',
      `length ${bytes.length}, expected at least ${HEADER_LENGTH}`,
    );
  }
  const type = readU16(bytes, 0);
  const length = readU16(bytes, 2);
  const cookie = readU32(bytes, 4);
  if ((type & TOP_BITS_MASK) !== 0) {
    throw new StunDecodeError('header', `message type 0x${hex(type, 4)} has a top bit set`);
  }
  if (length % 4 !== 0) {
    throw new StunDecodeError('header', `message length ${length} is not a multiple of 4`);
  }
  if (HEADER_LENGTH + length !== bytes.length) {
    throw new StunDecodeError(
      'header',
      `message length ${length} does not match the ${bytes.length - HEADER_LENGTH} bytes after the header`,
    );
  }
  if (cookie !== MAGIC_COOKIE) {
    throw new StunDecodeError('header', `magic cookie 0x${hex(cookie, 8)}, expected 0x2112a442`);
  }
  return headerOf(bytes, type, length);
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

/**
 * Where the attribute walk is relative to the integrity attributes:
 * `open` → MESSAGE-INTEGRITY → `after-mi` → MESSAGE-INTEGRITY-SHA256 → `after-mi256`
 * (either arrow may be skipped). FINGERPRINT, accepted in every state, ends the message.
 */
type WalkState = 'open' | 'after-mi' | 'after-mi256';

/** Which attributes each state accepts; the rest are ignored. RFC 8489 §14.5-14.7. */
function isAccepted(state: WalkState, type: number): boolean {
  switch (state) {
    case 'open':
      return true;
    case 'after-mi':
      return type === AttrType.MessageIntegritySha256 || type === AttrType.Fingerprint;
    case 'after-mi256':
      return type === AttrType.Fingerprint;
  }
}

function nextState(state: WalkState, type: number): WalkState {
  switch (type) {
    case AttrType.MessageIntegrity:
      return 'after-mi';
    case AttrType.MessageIntegritySha256:
      return 'after-mi256';
    default:
      return state;
  }
}

interface AttributeWalk {
  readonly attributes: RawAttribute[];
  readonly unknownRequired: number[];
}

/** Walks the attributes after the header, checking each header and padded value fits. */
function walkAttributes(bytes: Uint8Array): AttributeWalk {
  const walk: AttributeWalk = { attributes: [], unknownRequired: [] };
  let state: WalkState = 'open';
  let fingerprintSeen = false;
  let offset = HEADER_LENGTH;
  // The total length is a multiple of 4, so an attribute header always fits.
  while (offset < bytes.length) {
    const type = readU16(bytes, offset);
    const length = readU16(bytes, offset + 2);
    const valueStart = offset + ATTRIBUTE_HEADER_LENGTH;
    if (fingerprintSeen) {
      throw new StunDecodeError(
        'attribute/FINGERPRINT',
        `followed by ${attributeName(type)} at offset ${offset}`,
      );
    }
    if (valueStart + padLength(length) > bytes.length) {
      throw new StunDecodeError(
        `attribute/${attributeName(type)}`,
        `length ${length} at offset ${offset} runs past the end of the ${bytes.length}-byte message`,
      );
    }
    if (isAccepted(state, type)) {
      walk.attributes.push({
        type,
        offset,
        value: bytes.subarray(valueStart, valueStart + length),
      });
      if (isUnknownRequired(type) && !walk.unknownRequired.includes(type)) {
        walk.unknownRequired.push(type);
      }
      fingerprintSeen = type === AttrType.Fingerprint;
      state = nextState(state, type);
    }
    offset = valueStart + padLength(length);
  }
  return walk;
}

function isUnknownRequired(type: number): boolean {
  return isComprehensionRequired(type) && !ATTRIBUTE_CODECS.has(type);
}

/**
 * Decodes a STUN message, checking its structure only: attribute values are decoded by
 * `StunMessage.get`. Throws StunDecodeError if the input is shorter than 20 bytes, the top two
 * bits are set, the length field is not a multiple of 4 or does not match the input exactly,
 * the magic cookie is wrong, an attribute runs past the end, or anything follows FINGERPRINT.
 * Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and
 * after MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are ignored. RFC 8489 §5, §6.3, §14.
 *
 * The message views `bytes`; it is valid until that buffer is reused.
 */
export function decodeMessage(bytes: Uint8Array): StunMessage {
  const header = checkHeader(bytes);
  const walk = walkAttributes(bytes);
  return new StunMessage({
    method: header.method,
    messageClass: header.messageClass,
    transactionId: header.transactionId,
    raw: bytes,
    attributes: walk.attributes,
    unknownRequired: walk.unknownRequired,
  });
}
