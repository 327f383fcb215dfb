/**
 * Test helpers: hex dumps in RFC layout to bytes and back.
 * @module
 */

/**
 * Parses RFC-style hex dumps: every line's leading groups of two hex digits are bytes; the
 * trailing description after the hex columns is ignored.
 */
export function hexDump(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*((?:[0-9a-f]{2}\s){0,3}[0-9a-f]{2})(?:\s|$)/i.exec(line);
    if (match?.[1] === undefined) {
      continue;
    }
    for (const pair of match[1].trim().split(/\s+/)) {
      bytes.push(parseInt(pair, 16));
    }
  }
  return Uint8Array.from(bytes);
}

/** Parses a compact hex string ("0a0b..."), ignoring whitespace. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** Formats bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
