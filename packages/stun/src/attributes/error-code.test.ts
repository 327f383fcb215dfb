import { describe, expect, it } from 'vitest';
import { StunDecodeError, StunEncodeError } from '../errors.js';
import { addressErrorCode, errorCode } from './error-code.js';

const ctx = { transactionId: new Uint8Array(12) };
const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

describe('ERROR-CODE', () => {
  it('encodes class and number in the low bits and the reason in UTF-8', () => {
    expect(errorCode.encode({ code: 401, reason: 'Unauthorized' }, ctx)).toEqual(
      Uint8Array.of(0, 0, 4, 1, ...new TextEncoder().encode('Unauthorized')),
    );
  });

  it.each([300, 400, 420, 438, 486, 508, 699])('round-trips code %i', (code) => {
    const value = { code, reason: `reason ${code}` };
    expect(errorCode.decode(errorCode.encode(value, ctx), ctx)).toEqual(value);
  });

  it('ignores the reserved bits above the class', () => {
    expect(errorCode.decode(hex('fffffc14'), ctx)).toEqual({ code: 420, reason: '' });
  });

  it.each([
    ['a value shorter than 4 bytes', '000004', 'length 3, expected at least 4'],
    ['class 2', '00000200', 'invalid code: class 2, number 0'],
    ['class 7', '00000700', 'invalid code: class 7, number 0'],
    ['number 100', '00000464', 'invalid code: class 4, number 100'],
    ['invalid UTF-8 in the reason', '00000400ff', 'invalid utf-8'],
  ])('rejects %s', (_case, bytes, reason) => {
    expect(() => errorCode.decode(hex(bytes), ctx)).toThrow(StunDecodeError);
    expect(() => errorCode.decode(hex(bytes), ctx)).toThrow(`attribute/ERROR-CODE: ${reason}`);
  });

  it('rejects a reason over 763 bytes on decode and encode', () => {
    const long = new Uint8Array(4 + 764).fill(0x61);
    long.set([0, 0, 4, 0]);
    expect(() => errorCode.decode(long, ctx)).toThrow('attribute/ERROR-CODE: length 764, max 763');
    expect(() => errorCode.encode({ code: 400, reason: 'a'.repeat(764) }, ctx)).toThrow(
      StunEncodeError,
    );
  });

  it.each([299, 700, 400.5, -1])('rejects code %d on encode', (code) => {
    expect(() => errorCode.encode({ code, reason: '' }, ctx)).toThrow(StunEncodeError);
  });
});

describe('ADDRESS-ERROR-CODE', () => {
  it('puts the family in the first byte', () => {
    const bytes = addressErrorCode.encode({ family: 2, code: 440, reason: 'x' }, ctx);
    expect(bytes).toEqual(Uint8Array.of(2, 0, 4, 40, 0x78));
    expect(addressErrorCode.decode(bytes, ctx)).toEqual({ family: 2, code: 440, reason: 'x' });
  });

  it('decodes any family byte (the receiver decides)', () => {
    expect(addressErrorCode.decode(hex('7f000508'), ctx)).toEqual({
      family: 0x7f,
      code: 508,
      reason: '',
    });
  });

  it('rejects a family above 255 on encode and short values on decode', () => {
    expect(() => addressErrorCode.encode({ family: 256, code: 440, reason: '' }, ctx)).toThrow(
      StunEncodeError,
    );
    expect(() => addressErrorCode.decode(hex('01'), ctx)).toThrow(
      'attribute/ADDRESS-ERROR-CODE: length 1',
    );
  });
});
