import { describe, expect, it } from 'vitest';
import { StunDecodeError } from '../errors.js';
import { cacheTimeout, changeRequest, padding, responsePort } from './nat-behavior.js';

const ctx = { transactionId: new Uint8Array(12) };

describe('NAT behavior discovery attributes', () => {
  it.each([
    [{ changeIp: false, changePort: false }, [0, 0, 0, 0]],
    [{ changeIp: true, changePort: false }, [0, 0, 0, 4]],
    [{ changeIp: false, changePort: true }, [0, 0, 0, 2]],
    [{ changeIp: true, changePort: true }, [0, 0, 0, 6]],
  ])('CHANGE-REQUEST %j is %j', (value, wire) => {
    expect(changeRequest.encode(value, ctx)).toEqual(Uint8Array.from(wire));
    expect(changeRequest.decode(Uint8Array.from(wire), ctx)).toEqual(value);
  });

  it('CHANGE-REQUEST ignores other bits and checks its size', () => {
    expect(changeRequest.decode(Uint8Array.of(0xff, 0xff, 0xff, 0xf9), ctx)).toEqual({
      changeIp: false,
      changePort: false,
    });
    expect(() => changeRequest.decode(new Uint8Array(5), ctx)).toThrow(StunDecodeError);
  });

  it('RESPONSE-PORT is a port plus 2 RFFU bytes', () => {
    expect(responsePort.encode(3478, ctx)).toEqual(Uint8Array.of(0x0d, 0x96, 0, 0));
    expect(responsePort.decode(Uint8Array.of(0x0d, 0x96, 9, 9), ctx)).toBe(3478);
    expect(() => responsePort.decode(new Uint8Array(2), ctx)).toThrow('attribute/RESPONSE-PORT');
  });

  it('PADDING is opaque and CACHE-TIMEOUT a uint32', () => {
    const bytes = new Uint8Array(13).fill(5);
    expect(padding.decode(padding.encode(bytes, ctx), ctx)).toEqual(bytes);
    expect(cacheTimeout.decode(cacheTimeout.encode(120, ctx), ctx)).toBe(120);
  });
});
