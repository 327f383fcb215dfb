/**
 * Strict UTF-8 text encoding for STUN string attributes.
 * @module
 */
import { StunDecodeError, StunEncodeError } from './errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
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
  if (LONE_SURROGATE.test(text)) {
    throw new StunEncodeError(place, 'text contains an unpaired utf-16 surrogate');
  }
  return encoder.encode(text);
}
