/**
 * Table-driven CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) for FINGERPRINT.
 * @module
 */

const POLYNOMIAL = 0xedb88320;

function makeTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? POLYNOMIAL ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c;
  }
  return table;
}

const TABLE = makeTable();

/**
 * CRC-32 of `bytes` as an unsigned 32-bit integer (the ITU-T V.42 / ISO 3309 CRC that
 * FINGERPRINT uses). RFC 8489 §14.7.
 */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- index is masked to 0..255 and the table has 256 entries
    crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
