/**
 * What a decrypted stream carries, told from its first bytes: the one-port listener's fallback
 * when a TLS client negotiated no ALPN protocol (TURN clients rarely offer `stun.turn`).
 * @module
 */

/** The protocol a stream's first bytes show, or that more bytes are needed to tell. */
export type StreamKind = 'turn' | 'http' | 'unknown' | 'incomplete';

/** STUN magic cookie at offset 4 of every message (RFC 8489 §5). */
const MAGIC_COOKIE = [0x21, 0x12, 0xa4, 0x42] as const;
const MAGIC_COOKIE_OFFSET = 4;
/** Bytes needed to see a STUN header's first 8 bytes (type, length, cookie). */
const STUN_PEEK_BYTES = 8;
/** ChannelData first bytes: channel numbers 0x4000-0x7FFF (RFC 8656 §12). */
const CHANNEL_FIRST_MIN = 0x40;
const CHANNEL_FIRST_MAX = 0x7f;
/** Longest method token accepted (the longest registered ones have 16 characters or fewer). */
const MAX_METHOD_LENGTH = 16;
const SPACE = 0x20;

/** Whether `byte` is an upper-case letter, the characters of every registered HTTP method. */
function isMethodChar(byte: number): boolean {
  return byte >= 0x41 && byte <= 0x5a;
}

function classifyHttp(bytes: Uint8Array): StreamKind {
  const limit = Math.min(bytes.length, MAX_METHOD_LENGTH + 1);
  for (let i = 0; i < limit; i++) {
    const byte = bytes[i] ?? 0;
    if (byte === SPACE) return i >= 3 ? 'http' : 'unknown';
    if (!isMethodChar(byte)) return 'unknown';
  }
  return bytes.length > MAX_METHOD_LENGTH ? 'unknown' : 'incomplete';
}

/**
 * Classifies the first bytes of a stream: a STUN message (first two bits 0b00 and the magic
 * cookie at offset 4) is TURN; an upper-case method token followed by a space (an HTTP/1.x
 * request line) is HTTP; otherwise a first byte of 0x40-0x7F is ChannelData, TURN as well (the
 * TURN side then refuses it, as no allocation can exist yet); anything else is unknown. HTTP is
 * tested before ChannelData because the letters of a method are in the ChannelData range.
 */
export function classifyFirstBytes(bytes: Uint8Array): StreamKind {
  const first = bytes[0];
  if (first === undefined) return 'incomplete';
  if (first < CHANNEL_FIRST_MIN) {
    if (bytes.length < STUN_PEEK_BYTES) {
      const seen = bytes.subarray(MAGIC_COOKIE_OFFSET);
      return seen.every((b, i) => b === MAGIC_COOKIE[i]) ? 'incomplete' : 'unknown';
    }
    return MAGIC_COOKIE.every((b, i) => bytes[MAGIC_COOKIE_OFFSET + i] === b) ? 'turn' : 'unknown';
  }
  if (isMethodChar(first)) {
    const http = classifyHttp(bytes);
    if (http !== 'unknown') return http;
  }
  return first <= CHANNEL_FIRST_MAX ? 'turn' : 'unknown';
}
