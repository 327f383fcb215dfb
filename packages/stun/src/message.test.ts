import { describe, expect, it } from 'vitest';
import { attr, rawAttr } from './attribute.js';
import { errorCode, lifetime, software, username, xorPeerAddress } from './attributes/index.js';
import { AttrType, MessageClass, Method } from './constants.js';
import { encodeMessage } from './encode.js';
import { StunDecodeError } from './errors.js';
import { decodeMessage, isStunMessage, readMessageHeader } from './message.js';
import type { AttributeEntry } from './types.js';

const TID = Uint8Array.from({ length: 12 }, (_, i) => i + 1);

function build(attributes: AttributeEntry[], method: number = Method.Allocate): Uint8Array {
  return encodeMessage({
    method,
    messageClass: MessageClass.Request,
    transactionId: TID,
    attributes,
  });
}

function decodeError(bytes: Uint8Array): StunDecodeError {
  try {
    decodeMessage(bytes);
  } catch (error) {
    if (error instanceof StunDecodeError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a StunDecodeError');
}

function withHeader(bytes: Uint8Array, patch: (view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  patch(new DataView(copy.buffer));
  return copy;
}

const VALID = build([attr(lifetime, 600), attr(software, 'abc')]);

describe('decodeMessage header checks', () => {
  it('decodes method, class, transaction ID and raw view', () => {
    const msg = decodeMessage(VALID);
    expect(msg.method).toBe(Method.Allocate);
    expect(msg.messageClass).toBe(MessageClass.Request);
    expect(msg.transactionId).toEqual(TID);
    expect(msg.raw).toBe(VALID);
    expect(msg.transactionId.buffer).toBe(VALID.buffer);
  });

  it.each([
    ['an empty input', new Uint8Array(0), 'length 0, expected at least 20'],
    ['19 bytes', VALID.subarray(0, 19), 'length 19, expected at least 20'],
    [
      'a top bit set',
      withHeader(VALID, (v) => {
        v.setUint16(0, 0x8003);
      }),
      'message type 0x8003 has a top bit set',
    ],
    [
      'a length not a multiple of 4',
      withHeader(VALID, (v) => {
        v.setUint16(2, 18);
      }),
      'message length 18 is not a multiple of 4',
    ],
    [
      'trailing bytes',
      Uint8Array.of(...VALID, 0, 0, 0, 0),
      'message length 16 does not match the 20 bytes',
    ],
    [
      'a truncated body',
      VALID.subarray(0, VALID.length - 4),
      'message length 16 does not match the 12 bytes',
    ],
    [
      'a bad magic cookie',
      withHeader(VALID, (v) => {
        v.setUint32(4, 0x2112a443);
      }),
      'magic cookie 0x2112a443, expected 0x2112a442',
    ],
  ])('rejects %s', (_case, bytes, reason) => {
    const error = decodeError(bytes);
    expect(error.place).toBe('header');
    expect(error.reason).toContain(reason);
  });

  it('rejects an attribute whose padded value runs past the end, naming it', () => {
    // LIFETIME at offset 20 claims 13 bytes (16 padded); only 12 remain after its header.
    const bytes = withHeader(VALID, (v) => {
      v.setUint16(22, 13);
    });
    expect(decodeError(bytes).message).toBe(
      'attribute/LIFETIME: length 13 at offset 20 runs past the end of the 36-byte message',
    );
    const overByOne = withHeader(VALID, (v) => {
      v.setUint16(30, 5); // SOFTWARE: 5 bytes claimed, 4 remain
    });
    expect(decodeError(overByOne).place).toBe('attribute/SOFTWARE');
    const huge = withHeader(VALID, (v) => {
      v.setUint16(30, 0xfff0);
    });
    expect(decodeError(huge).place).toBe('attribute/SOFTWARE');
  });

  it('accepts a header-only message and unknown methods', () => {
    const msg = decodeMessage(build([], 0xabc));
    expect(msg.method).toBe(0xabc);
    expect(msg.attributes).toEqual([]);
  });
});

describe('StunMessage attributes', () => {
  it('lists attributes in wire order with offsets and value views', () => {
    const msg = decodeMessage(VALID);
    expect(msg.attributes).toEqual([
      { type: AttrType.Lifetime, offset: 20, value: Uint8Array.of(0, 0, 2, 0x58) },
      { type: AttrType.Software, offset: 28, value: new TextEncoder().encode('abc') },
    ]);
    expect(msg.attributes[1]!.value.buffer).toBe(VALID.buffer);
  });

  it('get() decodes the first occurrence lazily and caches it', () => {
    const bytes = build([
      attr(xorPeerAddress, { family: 4, address: '192.0.2.1', port: 1 }),
      attr(xorPeerAddress, { family: 4, address: '192.0.2.2', port: 2 }),
    ]);
    const msg = decodeMessage(bytes);
    const first = msg.get(xorPeerAddress);
    expect(first).toEqual({ family: 4, address: '192.0.2.1', port: 1 });
    expect(msg.get(xorPeerAddress)).toBe(first);
    expect(msg.getAll(xorPeerAddress).map((a) => a.port)).toEqual([1, 2]);
    expect(msg.get(lifetime)).toBeUndefined();
    expect(msg.getAll(lifetime)).toEqual([]);
    expect(msg.has(AttrType.XorPeerAddress)).toBe(true);
    expect(msg.has(AttrType.Lifetime)).toBe(false);
    expect(msg.getRaw(AttrType.XorPeerAddress)?.offset).toBe(20);
  });

  it('get() throws StunDecodeError for a malformed value, every time', () => {
    const msg = decodeMessage(build([rawAttr(AttrType.Lifetime, Uint8Array.of(1, 2, 3))]));
    expect(() => msg.get(lifetime)).toThrow('attribute/LIFETIME: length 3, expected 4');
    expect(() => msg.get(lifetime)).toThrow(StunDecodeError);
    expect(() => msg.getAll(lifetime)).toThrow(StunDecodeError);
  });

  it('computes the transaction key once as lowercase hex', () => {
    const msg = decodeMessage(VALID);
    expect(msg.transactionKey).toBe('0102030405060708090a0b0c');
    expect(msg.transactionKey).toBe(msg.transactionKey);
  });

  it('writes every byte value of the transaction key as two hex digits', () => {
    const bytes = VALID.slice();
    bytes.set([0x00, 0x0f, 0x10, 0x7f, 0x80, 0x9a, 0xa0, 0xbc, 0xde, 0xf0, 0xfe, 0xff], 8);
    expect(decodeMessage(bytes).transactionKey).toBe('000f107f809aa0bcdef0feff');
  });

  it('decodes a message that is a subarray at a non-zero offset of a larger buffer', () => {
    const buffer = new Uint8Array(VALID.length + 10).fill(0xff);
    buffer.set(VALID, 7);
    const msg = decodeMessage(buffer.subarray(7, 7 + VALID.length));
    expect(msg.method).toBe(Method.Allocate);
    expect(msg.transactionKey).toBe('0102030405060708090a0b0c');
    expect(msg.get(lifetime)).toBe(600);
    expect(msg.get(software)).toBe('abc');
  });

  it('collects unknown comprehension-required types in order, without duplicates', () => {
    const msg = decodeMessage(
      build([
        rawAttr(0x0030, new Uint8Array(0)),
        rawAttr(0x8fff, new Uint8Array(0)), // comprehension-optional: not reported
        rawAttr(0x0002, Uint8Array.of(1)), // RESPONSE-ADDRESS (RFC 3489), unknown here
        rawAttr(0x0030, new Uint8Array(4)),
        attr(lifetime, 1),
      ]),
    );
    expect(msg.unknownRequired).toEqual([0x0030, 0x0002]);
    expect(msg.attributes).toHaveLength(5);
  });
});

describe('integrity attribute positions (RFC 8489 §14.5-14.7)', () => {
  const MI = rawAttr(AttrType.MessageIntegrity, new Uint8Array(20));
  const MI256 = rawAttr(AttrType.MessageIntegritySha256, new Uint8Array(32));
  const FP = rawAttr(AttrType.Fingerprint, new Uint8Array(4));
  const USER = attr(username, 'late');
  const UNKNOWN = rawAttr(0x0031, new Uint8Array(0));

  const types = (entries: AttributeEntry[]): number[] =>
    decodeMessage(build(entries)).attributes.map((a) => a.type);

  it('keeps MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT in that order', () => {
    expect(types([USER, MI, MI256, FP])).toEqual([0x0006, 0x0008, 0x001c, 0x8028]);
  });

  it('ignores attributes after MESSAGE-INTEGRITY, including unknown comprehension-required ones', () => {
    const msg = decodeMessage(build([MI, USER, UNKNOWN, FP]));
    expect(msg.attributes.map((a) => a.type)).toEqual([0x0008, 0x8028]);
    expect(msg.unknownRequired).toEqual([]);
    expect(msg.get(username)).toBeUndefined();
  });

  it('ignores everything but FINGERPRINT after MESSAGE-INTEGRITY-SHA256, even MESSAGE-INTEGRITY', () => {
    expect(types([MI256, MI, USER, MI256, FP])).toEqual([0x001c, 0x8028]);
  });

  it('ignores a second MESSAGE-INTEGRITY but keeps a following MESSAGE-INTEGRITY-SHA256', () => {
    const msg = decodeMessage(build([MI, MI, USER, MI256]));
    expect(msg.attributes.map((a) => [a.type, a.offset])).toEqual([
      [0x0008, 20],
      [0x001c, 20 + 24 + 24 + 8],
    ]);
  });

  it('rejects any attribute after FINGERPRINT, even one that would be ignored', () => {
    for (const after of [[USER], [FP], [MI, USER]]) {
      const error = decodeError(build([FP, ...after]));
      expect(error.place).toBe('attribute/FINGERPRINT');
      expect(error.reason).toMatch(/^followed by /);
    }
    expect(decodeError(build([MI, UNKNOWN, FP, UNKNOWN])).message).toBe(
      'attribute/FINGERPRINT: followed by 0x0031 at offset 56',
    );
  });
});

describe('isStunMessage / readMessageHeader', () => {
  it('accepts exactly one whole message', () => {
    expect(isStunMessage(VALID)).toBe(true);
    expect(isStunMessage(VALID.subarray(0, 20))).toBe(false);
    expect(isStunMessage(Uint8Array.of(...VALID, 0))).toBe(false);
    expect(isStunMessage(new Uint8Array(19))).toBe(false);
    expect(isStunMessage(Uint8Array.of(0x40, 0, 0, 0))).toBe(false);
  });

  it('reads the header without checking the total length', () => {
    const header = readMessageHeader(VALID.subarray(0, 20));
    expect(header).toEqual({
      method: Method.Allocate,
      messageClass: MessageClass.Request,
      length: 16,
      transactionId: TID,
    });
    const error = encodeMessage({
      method: Method.Refresh,
      messageClass: MessageClass.ErrorResponse,
      transactionId: TID,
      attributes: [attr(errorCode, { code: 437, reason: 'Allocation Mismatch' })],
    });
    expect(readMessageHeader(error)?.messageClass).toBe(MessageClass.ErrorResponse);
  });

  it.each([
    ['short input', new Uint8Array(19)],
    [
      'top bits set',
      withHeader(VALID, (v) => {
        v.setUint16(0, 0x4001);
      }),
    ],
    [
      'bad cookie',
      withHeader(VALID, (v) => {
        v.setUint32(4, 0);
      }),
    ],
  ])('returns undefined for %s', (_case, bytes) => {
    expect(readMessageHeader(bytes)).toBeUndefined();
    expect(isStunMessage(bytes)).toBe(false);
  });
});
