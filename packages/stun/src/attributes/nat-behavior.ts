/**
 * NAT behavior discovery attributes: CHANGE-REQUEST, RESPONSE-PORT, PADDING, CACHE-TIMEOUT.
 * (RESPONSE-ORIGIN and OTHER-ADDRESS are in address.ts.)
 * @module
 */
import { checkSize } from '../attribute.js';
import { readU32, writeU32 } from '../bytes.js';
import { AttrType } from '../constants.js';
import type { AttributeCodec, ChangeRequestValue } from '../types.js';
import { bytesAttribute, paddedUint16Attribute, uint32Attribute } from './primitives.js';

const CHANGE_REQUEST_SIZE = 4;
/** The A flag: respond from a different IP address. RFC 5780 §7.2. */
const CHANGE_IP = 0x4;
/** The B flag: respond from a different port. RFC 5780 §7.2. */
const CHANGE_PORT = 0x2;

/** CHANGE-REQUEST: ask the server to respond from another IP and/or port. RFC 5780 §7.2. */
export const changeRequest: AttributeCodec<ChangeRequestValue> = {
  type: AttrType.ChangeRequest,
  name: 'CHANGE-REQUEST',
  encode(value) {
    const out = new Uint8Array(CHANGE_REQUEST_SIZE);
    writeU32(out, 0, (value.changeIp ? CHANGE_IP : 0) | (value.changePort ? CHANGE_PORT : 0));
    return out;
  },
  decode(bytes) {
    checkSize('CHANGE-REQUEST', bytes.length, CHANGE_REQUEST_SIZE);
    const flags = readU32(bytes, 0);
    return { changeIp: (flags & CHANGE_IP) !== 0, changePort: (flags & CHANGE_PORT) !== 0 };
  },
};

/** RESPONSE-PORT: the port the response should be sent to, plus 2 RFFU bytes. RFC 5780 §7.5. */
export const responsePort = paddedUint16Attribute(AttrType.ResponsePort, 'RESPONSE-PORT');

/** PADDING: opaque bytes that pad a request or response (a view of the input). RFC 5780 §7.6. */
export const padding = bytesAttribute(AttrType.Padding, 'PADDING');

/** CACHE-TIMEOUT: seconds the server believes a NAT binding lasts. Registered by RFC 5780 §9.1. */
export const cacheTimeout = uint32Attribute(AttrType.CacheTimeout, 'CACHE-TIMEOUT');
