import { describe, expect, it } from 'vitest';
import { STUN_ERROR_CODES, StunDecodeError, StunEncodeError, StunOptionError } from './errors.js';

describe('errors', () => {
  it('StunDecodeError carries code, place, reason and a "place: reason" message', () => {
    const cause = new Error('inner');
    const error = new StunDecodeError('attribute/LIFETIME', 'length 3, expected 4', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('StunDecodeError');
    expect(error.code).toBe('ERR_STUN_DECODE');
    expect(error.place).toBe('attribute/LIFETIME');
    expect(error.reason).toBe('length 3, expected 4');
    expect(error.message).toBe('attribute/LIFETIME: length 3, expected 4');
    expect(error.cause).toBe(cause);
  });

  it('StunEncodeError and StunOptionError carry their codes', () => {
    const encode = new StunEncodeError('message', 'length 70000, max 65535');
    expect(encode.code).toBe('ERR_STUN_ENCODE');
    expect(encode.name).toBe('StunEncodeError');
    expect(encode.message).toBe('message: length 70000, max 65535');
    const option = new StunOptionError('maxFrameBytes must be an integer >= 4, got 0');
    expect(option.code).toBe('ERR_STUN_INVALID_OPTION');
    expect(option.name).toBe('StunOptionError');
  });

  it('the catalog lists every code exactly once', () => {
    const codes = STUN_ERROR_CODES.map((e) => e.code);
    expect(codes).toEqual(['ERR_STUN_DECODE', 'ERR_STUN_ENCODE', 'ERR_STUN_INVALID_OPTION']);
    for (const entry of STUN_ERROR_CODES) {
      expect(entry.description.length).toBeGreaterThan(10);
    }
  });
});
