import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import { transactionTransmitCounter } from './transmit-counter.js';

const ctx = { transactionId: new Uint8Array(12) };

describe('TRANSACTION_TRANSMIT_COUNTER', () => {
  it('encodes reserved(2), request(1), response(1)', () => {
    expect(transactionTransmitCounter.encode({ request: 3, response: 1 }, ctx)).toEqual(
      Uint8Array.of(0, 0, 3, 1),
    );
    expect(transactionTransmitCounter.decode(Uint8Array.of(9, 9, 255, 0), ctx)).toEqual({
      request: 255,
      response: 0,
    });
  });

  it('checks size and ranges', () => {
    expect(() => transactionTransmitCounter.decode(new Uint8Array(3), ctx)).toThrow(
      StunDecodeError,
    );
    expect(() => transactionTransmitCounter.encode({ request: 256, response: 0 }, ctx)).toThrow(
      StunEncodeError,
    );
    expect(() => transactionTransmitCounter.encode({ request: 0, response: -1 }, ctx)).toThrow(
      StunEncodeError,
    );
  });
});
