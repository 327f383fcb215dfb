/**
 * Credential attributes: USERHASH, ACCESS-TOKEN, PASSWORD-ALGORITHM and PASSWORD-ALGORITHMS.
 * @module
 */
import { attributePlace, checkEncodeOverflow, checkUint, padLength } from '../attribute.js';
import { readU16, writeU16 } from '../bytes.js';
import { AttrType } from '../constants.js';
import { StunDecodeError } from '../errors.js';
import type { AttributeCodec, PasswordAlgorithmValue } from '../types.js';
import { bytesAttribute } from './primitives.js';

/** Size of USERHASH (a SHA-256 digest). RFC 8489 §14.4. */
export const USERHASH_SIZE = 32;
/** Algorithm number (2 bytes) + parameters length (2 bytes). RFC 8489 §14.11. */
const ALGORITHM_HEADER_SIZE = 4;
const UINT16_MAX = 0xffff;

/** USERHASH: SHA-256 of `username ":" realm`, replacing USERNAME (32 bytes, a view). RFC 8489 §14.4. */
export const userhash = bytesAttribute(AttrType.Userhash, 'USERHASH', { size: USERHASH_SIZE });

/** ACCESS-TOKEN: an opaque OAuth access token (a view of the input). RFC 7635 §6.2. */
export const accessToken = bytesAttribute(AttrType.AccessToken, 'ACCESS-TOKEN');

/** Total encoded size of a list of algorithm entries (parameters padded to 4 bytes). */
function entriesSize(values: readonly PasswordAlgorithmValue[]): number {
  return values.reduce((n, v) => n + ALGORITHM_HEADER_SIZE + padLength(v.parameters.length), 0);
}

function encodeEntries(name: string, values: readonly PasswordAlgorithmValue[]): Uint8Array {
  const out = new Uint8Array(entriesSize(values));
  checkEncodeOverflow(name, out.length, UINT16_MAX);
  let offset = 0;
  for (const value of values) {
    checkUint(name, value.algorithm, UINT16_MAX);
    writeU16(out, offset, value.algorithm);
    writeU16(out, offset + 2, value.parameters.length);
    out.set(value.parameters, offset + ALGORITHM_HEADER_SIZE);
    // The fresh buffer is zeroed; padding stays explicit in the size arithmetic above.
    offset += ALGORITHM_HEADER_SIZE + padLength(value.parameters.length);
  }
  return out;
}

/**
 * Decodes algorithm entries. Parameter padding is consumed when present; the last entry's
 * padding may be left to the attribute padding instead (both forms are seen on the wire).
 */
function decodeEntries(name: string, bytes: Uint8Array): PasswordAlgorithmValue[] {
  const entries: PasswordAlgorithmValue[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + ALGORITHM_HEADER_SIZE > bytes.length) {
      throw new StunDecodeError(
        attributePlace(name),
        `truncated algorithm entry at offset ${offset} of ${bytes.length}`,
      );
    }
    const algorithm = readU16(bytes, offset);
    const paramsLength = readU16(bytes, offset + 2);
    const start = offset + ALGORITHM_HEADER_SIZE;
    if (start + paramsLength > bytes.length) {
      throw new StunDecodeError(
        attributePlace(name),
        `parameters length ${paramsLength} at offset ${offset} runs past ${bytes.length} bytes`,
      );
    }
    entries.push({ algorithm, parameters: bytes.subarray(start, start + paramsLength) });
    offset = Math.min(bytes.length, start + padLength(paramsLength));
  }
  return entries;
}

const PASSWORD_ALGORITHM = 'PASSWORD-ALGORITHM';
const PASSWORD_ALGORITHMS = 'PASSWORD-ALGORITHMS';

/**
 * PASSWORD-ALGORITHM: the algorithm the client chose for the long-term key
 * (algorithm number, parameters as a view of the input). RFC 8489 §14.12.
 */
export const passwordAlgorithm: AttributeCodec<PasswordAlgorithmValue> = {
  type: AttrType.PasswordAlgorithm,
  name: PASSWORD_ALGORITHM,
  encode: (value) => encodeEntries(PASSWORD_ALGORITHM, [value]),
  decode(bytes) {
    const entries = decodeEntries(PASSWORD_ALGORITHM, bytes);
    const [first] = entries;
    if (first === undefined || entries.length > 1) {
      throw new StunDecodeError(
        attributePlace(PASSWORD_ALGORITHM),
        `${entries.length} algorithm entries in ${bytes.length} bytes, expected 1`,
      );
    }
    return first;
  },
};

/** PASSWORD-ALGORITHMS: the algorithms a server supports, in its order of preference. RFC 8489 §14.11. */
export const passwordAlgorithms: AttributeCodec<PasswordAlgorithmValue[]> = {
  type: AttrType.PasswordAlgorithms,
  name: PASSWORD_ALGORITHMS,
  encode: (values) => encodeEntries(PASSWORD_ALGORITHMS, values),
  decode: (bytes) => decodeEntries(PASSWORD_ALGORITHMS, bytes),
};
