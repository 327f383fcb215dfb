/**
 * The 14-bit STUN message type: method and class bits interleaved. RFC 8489 §5.
 * @module
 */
import { MessageClass } from './constants.js';
import { StunEncodeError } from './errors.js';

/** Largest method number (12 bits). RFC 8489 §5. */
export const MAX_METHOD = 0xfff;

/** The valid class values, listed once rather than on every encode. */
const MESSAGE_CLASSES: readonly number[] = Object.values(MessageClass);

/** A message type split into method and class. */
export interface MessageType {
  readonly method: number;
  readonly messageClass: MessageClass;
}

/**
 * Combines a method and class into the 16-bit message type field. The bits are laid out as
 * `M11..M7 C1 M6..M4 C0 M3..M0` below the two zero bits. RFC 8489 §5.
 * Throws StunEncodeError for a method above 0xFFF or an unknown class.
 */
export function encodeMessageType(method: number, messageClass: MessageClass): number {
  if (!Number.isInteger(method) || method < 0 || method > MAX_METHOD) {
    throw new StunEncodeError('header', `method ${method} out of range 0..0xfff`);
  }
  if (!MESSAGE_CLASSES.includes(messageClass)) {
    throw new StunEncodeError('header', `unknown message class ${String(messageClass)}`);
  }
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((messageClass & 0b01) << 4) |
    ((messageClass & 0b10) << 7)
  );
}

/** Splits the message type field into method and class (the top two bits are ignored). RFC 8489 §5. */
export function decodeMessageType(type: number): MessageType {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const messageClass = (((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)) as MessageClass;
  return { method, messageClass };
}
