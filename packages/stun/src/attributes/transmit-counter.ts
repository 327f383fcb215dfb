/**
 * TRANSACTION_TRANSMIT_COUNTER: how many times a request and its response were sent.
 * @module
 */
import { checkSize, checkUint } from '../attribute.js';
import { readU8 } from '../bytes.js';
import { AttrType } from '../constants.js';
import type { AttributeCodec, TransmitCounterValue } from '../types.js';

const NAME = 'TRANSACTION_TRANSMIT_COUNTER';
/** Reserved(2) + request count(1) + response count(1). RFC 7982 §3. */
const SIZE = 4;

/** TRANSACTION_TRANSMIT_COUNTER: request and response transmission counts. RFC 7982 §3. */
export const transactionTransmitCounter: AttributeCodec<TransmitCounterValue> = {
  type: AttrType.TransactionTransmitCounter,
  name: NAME,
  encode(value) {
    checkUint(NAME, value.request, 0xff);
    checkUint(NAME, value.response, 0xff);
    return Uint8Array.of(0, 0, value.request, value.response);
  },
  decode(bytes) {
    checkSize(NAME, bytes.length, SIZE);
    return { request: readU8(bytes, 2), response: readU8(bytes, 3) };
  },
};
