/**
 * UNKNOWN-ATTRIBUTES: the attribute types a 420 response reports as not understood.
 * @module
 */
import { attributePlace, checkEncodeOverflow, checkUint } from '../attribute.js';
import { readU16, writeU16 } from '../bytes.js';
import { AttrType } from '../constants.js';
import { StunDecodeError } from '../errors.js';
import type { AttributeCodec } from '../types.js';

const NAME = 'UNKNOWN-ATTRIBUTES';
const TYPE_SIZE = 2;
const UINT16_MAX = 0xffff;

/**
 * UNKNOWN-ATTRIBUTES: a list of 16-bit attribute types. Uses normal attribute padding, not the
 * RFC 3489 trick of repeating the last type. RFC 8489 §14.13.
 */
export const unknownAttributes: AttributeCodec<number[]> = {
  type: AttrType.UnknownAttributes,
  name: NAME,
  encode(types) {
    const out = new Uint8Array(types.length * TYPE_SIZE);
    checkEncodeOverflow(NAME, out.length, UINT16_MAX);
    types.forEach((type, i) => {
      checkUint(NAME, type, UINT16_MAX);
      writeU16(out, i * TYPE_SIZE, type);
    });
    return out;
  },
  decode(bytes) {
    if (bytes.length % TYPE_SIZE !== 0) {
      throw new StunDecodeError(attributePlace(NAME), `length ${bytes.length}, expected even`);
    }
    const types: number[] = [];
    for (let offset = 0; offset < bytes.length; offset += TYPE_SIZE) {
      types.push(readU16(bytes, offset));
    }
    return types;
  },
};
