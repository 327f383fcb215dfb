/**
 * SASLprep (RFC 4013) of passwords for the long-term credential key.
 * @module
 */

type CodePointRange = readonly [first: number, last: number];

/** Characters "commonly mapped to nothing". RFC 3454 Table B.1, used by RFC 4013 §2.2. */
const MAPPED_TO_NOTHING: readonly CodePointRange[] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x1806, 0x1806],
  [0x180b, 0x180d],
  [0x200b, 0x200d],
  [0x2060, 0x2060],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
];

/** Non-ASCII space characters. RFC 3454 Table C.1.2, mapped to U+0020 by RFC 4013 §2.1. */
const NON_ASCII_SPACE: readonly CodePointRange[] = [
  [0x00a0, 0x00a0],
  [0x1680, 0x1680],
  [0x2000, 0x200b],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];

function inRanges(codePoint: number, ranges: readonly CodePointRange[]): boolean {
  return ranges.some(([first, last]) => codePoint >= first && codePoint <= last);
}

/** Applies the RFC 4013 §2.1-2.2 mappings to one character (all mapped ones are in the BMP). */
function mapCharacter(char: string): string {
  const codePoint = char.charCodeAt(0);
  if (inRanges(codePoint, MAPPED_TO_NOTHING)) {
    return '';
  }
  return inRanges(codePoint, NON_ASCII_SPACE) ? ' ' : char;
}

/**
 * Prepares a password with SASLprep: removes the RFC 3454 B.1 characters, maps non-ASCII
 * spaces (C.1.2) to U+0020 and applies Unicode NFKC. RFC 4013 §2.1-2.2.
 * The prohibited-output and bidi checks of RFC 4013 §2.3-2.4 are not applied: the result only
 * feeds a hash, so rejecting a password here would just fail authentication later.
 * U+200B is in both tables; it is removed (B.1 first), as most implementations do.
 *
 * @example saslprep('The\u00adM\u00aatr\u2168') === 'TheMatrIX' // RFC 5769 §2.4
 */
export function saslprep(text: string): string {
  return Array.from(text, mapCharacter).join('').normalize('NFKC');
}
