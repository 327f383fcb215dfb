/**
 * UNKNOWN-ATTRIBUTES: the attribute types a 420 response reports as not understood.
 * @module
 */
import { attributePlace, checkEncodeOverflow, checkUint, viewOf } from '../attribute.js';
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
    const view = viewOf(out);
    types.forEach((type, i) => {
      checkUint(NAME, type, UINT16_MAX);
      view.setUint16(i * TYPE_SIZE, type);
    });
    return out;
  },
  decode(bytes) {
    if (bytes.length % TYPE_SIZE !== 0) {
      throw new StunDecodeError(attributePlace(NAME), `length ${bytes.length}, expected even`);
    }
    const view = viewOf(bytes);
    const types: number[] = [];
    for (let offset = 0; offset < bytes.length; offset += TYPE_SIZE) {
      types.push(view.getUint16(offset));
    }
    return types;
  },
};
