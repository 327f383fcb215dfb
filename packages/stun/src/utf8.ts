/**
 * Strict UTF-8 text encoding for STUN string attributes.
 * @module
 */
import { StunDecodeError, StunEncodeError } from './errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
/** Longest text {@link encodeUtf8} copies as ASCII (V8 keeps arrays this small on its heap). */
const ASCII_LOOP_MAX = 64;
/** Matches an unpaired UTF-16 surrogate, which has no UTF-8 form. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Decodes UTF-8 bytes, throwing StunDecodeError at `place` on invalid sequences. RFC 3629. */
export function decodeUtf8(place: string, bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new StunDecodeError(place, `invalid utf-8 in ${bytes.length} bytes`, { cause: error });
  }
}

/** Encodes text as UTF-8, throwing StunEncodeError at `place` if it has an unpaired surrogate. */
export function encodeUtf8(place: string, text: string): Uint8Array {
  // Short ASCII text (REALM, NONCE, SOFTWARE, reason phrases: every response carries some) is
  // copied a character at a time: TextEncoder's call costs several times more at these lengths.
  const length = text.length;
  if (length <= ASCII_LOOP_MAX) {
    const bytes = new Uint8Array(length);
    let i = 0;
    for (; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[i] = c;
    }
    if (i === length) return bytes;
  }
  if (LONE_SURROGATE.test(text)) {
    throw new StunEncodeError(place, 'text contains an unpaired utf-16 surrogate');
  }
  return encoder.encode(text);
}
