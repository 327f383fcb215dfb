/**
 * Shared value types of the STUN codec.
 * @module
 */
import type { MessageClass } from './constants.js';

/** A transport address as it appears in address attributes. Text form: "192.0.2.1", "2001:db8::1". */
export interface TransportAddress {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
}

/** Context an attribute codec needs: XOR attributes use the transaction ID. */
export interface CodecContext {
  readonly transactionId: Uint8Array;
}

/**
 * AttributeCodec is the typed encoder/decoder of one STUN attribute.
 * `decode` throws only `StunDecodeError`; `encode` throws only `StunEncodeError`.
 */
export interface AttributeCodec<T> {
  /** Wire type, e.g. 0x000d. */
  readonly type: number;
  /** Wire name, e.g. "LIFETIME". */
  readonly name: string;
  encode(value: T, ctx: CodecContext): Uint8Array;
  decode(bytes: Uint8Array, ctx: CodecContext): T;
}

/** One attribute to encode: a codec and its value (build with `attr()`). */
export interface AttributeEntry {
  readonly type: number;
  encode(ctx: CodecContext): Uint8Array;
}

/** One attribute as found on the wire. `value` views the decoded input buffer. */
export interface RawAttribute {
  readonly type: number;
  /** Offset of the attribute header from the start of the message. */
  readonly offset: number;
  readonly value: Uint8Array;
}

/** Synchronous hash primitives the codec needs (injected: the codec itself is browser-safe). */
export interface StunCrypto {
  hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  md5(data: Uint8Array): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
}

/** What to encode. Integrity attributes and FINGERPRINT are appended last, in RFC 8489 §14 order. */
export interface MessageSpec {
  readonly method: number;
  readonly messageClass: MessageClass;
  readonly transactionId: Uint8Array;
  readonly attributes: readonly AttributeEntry[];
  /** Append MESSAGE-INTEGRITY (HMAC-SHA1) with this key. RFC 8489 §14.5. */
  readonly integrityKey?: Uint8Array | undefined;
  /** Append MESSAGE-INTEGRITY-SHA256 with this key. RFC 8489 §14.6. */
  readonly integritySha256Key?: Uint8Array | undefined;
  /** Append FINGERPRINT. RFC 8489 §14.7. */
  readonly fingerprint?: boolean | undefined;
}

/** Decoded ChannelData. `data` views the input buffer. RFC 8656 §12.4. */
export interface ChannelData {
  readonly channelNumber: number;
  readonly data: Uint8Array;
}

/** Value of ERROR-CODE. RFC 8489 §14.8. */
export interface ErrorCodeValue {
  readonly code: number;
  readonly reason: string;
}

/** Value of ADDRESS-ERROR-CODE. RFC 8656 §18.12. */
export interface AddressErrorCodeValue {
  readonly family: number;
  readonly code: number;
  readonly reason: string;
}

/** One entry of PASSWORD-ALGORITHM(S). RFC 8489 §14.11-14.12. */
export interface PasswordAlgorithmValue {
  readonly algorithm: number;
  readonly parameters: Uint8Array;
}

/** Value of ICMP. RFC 8656 §18.13 (ICMP attribute). */
export interface IcmpValue {
  readonly type: number;
  readonly code: number;
  readonly errorData: number;
}

/** Value of CHANGE-REQUEST. RFC 5780 §7.2. */
export interface ChangeRequestValue {
  readonly changeIp: boolean;
  readonly changePort: boolean;
}

/** Value of TRANSACTION_TRANSMIT_COUNTER. RFC 7982 §3. */
export interface TransmitCounterValue {
  readonly request: number;
  readonly response: number;
}
