/**
 * ERROR-CODE and ADDRESS-ERROR-CODE: a 3-digit code plus a UTF-8 reason phrase.
 * @module
 */
import { attributePlace, checkEncodeOverflow, checkOverflow, checkUint } from '../attribute.js';
import { readU8 } from '../bytes.js';
import { AttrType } from '../constants.js';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import type { AddressErrorCodeValue, AttributeCodec, ErrorCodeValue } from '../types.js';
import { decodeUtf8, encodeUtf8 } from '../utf8.js';
import { MAX_TEXT_BYTES } from './text.js';

/** Bytes before the reason phrase: 21 reserved bits (or family + reserved), class, number. */
const CODE_HEADER_SIZE = 4;
const MIN_CODE = 300;
const MAX_CODE = 699;
const CLASS_MASK = 0x07;
const UINT8_MAX = 0xff;

/** Encodes code and reason; `first` is the value of byte 0 (0, or the address family). */
function encodeCode(name: string, code: number, reason: string, first: number): Uint8Array {
  if (!Number.isInteger(code) || code < MIN_CODE || code > MAX_CODE) {
    throw new StunEncodeError(
      attributePlace(name),
      `code ${code} out of range ${MIN_CODE}..${MAX_CODE}`,
    );
  }
  const text = encodeUtf8(attributePlace(name), reason);
  checkEncodeOverflow(name, text.length, MAX_TEXT_BYTES);
  const out = new Uint8Array(CODE_HEADER_SIZE + text.length);
  out[0] = first;
  out[2] = Math.floor(code / 100);
  out[3] = code % 100;
  out.set(text, CODE_HEADER_SIZE);
  return out;
}

/** Decodes class, number and reason; byte 0 is returned for ADDRESS-ERROR-CODE's family. */
function decodeCode(name: string, bytes: Uint8Array): ErrorCodeValue & { first: number } {
  if (bytes.length < CODE_HEADER_SIZE) {
    throw new StunDecodeError(
      attributePlace(name),
      `length ${bytes.length}, expected at least ${CODE_HEADER_SIZE}`,
    );
  }
  const errorClass = readU8(bytes, 2) & CLASS_MASK;
  const number = readU8(bytes, 3);
  if (errorClass < 3 || errorClass > 6 || number > 99) {
    throw new StunDecodeError(
      attributePlace(name),
      `invalid code: class ${errorClass}, number ${number}`,
    );
  }
  checkOverflow(name, bytes.length - CODE_HEADER_SIZE, MAX_TEXT_BYTES);
  const reason = decodeUtf8(attributePlace(name), bytes.subarray(CODE_HEADER_SIZE));
  return { first: readU8(bytes, 0), code: errorClass * 100 + number, reason };
}

const ERROR_CODE = 'ERROR-CODE';
const ADDRESS_ERROR_CODE = 'ADDRESS-ERROR-CODE';

/** ERROR-CODE: the error of an error response, 300..699 plus a reason phrase. RFC 8489 §14.8. */
export const errorCode: AttributeCodec<ErrorCodeValue> = {
  type: AttrType.ErrorCode,
  name: ERROR_CODE,
  encode: (value) => encodeCode(ERROR_CODE, value.code, value.reason, 0),
  decode(bytes) {
    const { code, reason } = decodeCode(ERROR_CODE, bytes);
    return { code, reason };
  },
};

/**
 * ADDRESS-ERROR-CODE: why the server did not allocate one address family of a dual
 * allocation (family byte, then the ERROR-CODE layout). The family is not range-checked.
 * RFC 8656 §18.12.
 */
export const addressErrorCode: AttributeCodec<AddressErrorCodeValue> = {
  type: AttrType.AddressErrorCode,
  name: ADDRESS_ERROR_CODE,
  encode(value) {
    checkUint(ADDRESS_ERROR_CODE, value.family, UINT8_MAX);
    return encodeCode(ADDRESS_ERROR_CODE, value.code, value.reason, value.family);
  },
  decode(bytes) {
    const { first, code, reason } = decodeCode(ADDRESS_ERROR_CODE, bytes);
    return { family: first, code, reason };
  },
};
