import { describe, expect, it } from 'vitest';
import { AttrType } from '../constants.js';
import { ATTRIBUTE_CODECS, attributeName } from './registry.js';

describe('attribute registry', () => {
  it('has one codec for every AttrType, keyed by its own type', () => {
    expect([...ATTRIBUTE_CODECS.keys()].sort((a, b) => a - b)).toEqual(
      Object.values(AttrType).sort((a, b) => a - b),
    );
    for (const [type, codec] of ATTRIBUTE_CODECS) {
      expect(codec.type).toBe(type);
    }
  });

  it('names known types by their wire name and unknown ones in hex', () => {
    expect(attributeName(AttrType.Lifetime)).toBe('LIFETIME');
    expect(attributeName(AttrType.XorPeerAddress)).toBe('XOR-PEER-ADDRESS');
    expect(attributeName(0x1234)).toBe('0x1234');
    expect(attributeName(0x7)).toBe('0x0007');
  });
});
