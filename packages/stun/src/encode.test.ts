import { describe, expect, it } from 'vitest';
import { attr, rawAttr } from './attribute.js';
import { lifetime, software, username } from './attributes/index.js';
import { AttrType, MessageClass, Method } from './constants.js';
import { encodeMessage, newTransactionId } from './encode.js';
import { StunEncodeError } from './errors.js';
import {
  verifyFingerprint,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from './integrity.js';
import { decodeMessage } from './message.js';
import { nodeStunCrypto } from './node-crypto.js';
import type { MessageSpec, StunCrypto } from './types.js';

const TID = new Uint8Array(12).fill(0xab);
const KEY = new TextEncoder().encode('key');

function spec(extra: Partial<MessageSpec> = {}): MessageSpec {
  return {
    method: Method.Binding,
    messageClass: MessageClass.Request,
    transactionId: TID,
    attributes: [attr(software, 'abcde')],
    ...extra,
  };
}

describe('encodeMessage', () => {
  it('writes the header, attributes in order and zeroed padding', () => {
    const bytes = encodeMessage(spec({ attributes: [attr(software, 'abcde'), attr(lifetime, 1)] }));
    const view = new DataView(bytes.buffer);
    expect(bytes.length).toBe(20 + 12 + 8);
    expect(view.getUint16(0)).toBe(0x0001);
    expect(view.getUint16(2)).toBe(20);
    expect(view.getUint32(4)).toBe(0x2112a442);
    expect(bytes.subarray(8, 20)).toEqual(TID);
    expect(view.getUint16(20)).toBe(AttrType.Software);
    expect(view.getUint16(22)).toBe(5);
    expect(Array.from(bytes.subarray(29, 32))).toEqual([0, 0, 0]);
    expect(view.getUint16(32)).toBe(AttrType.Lifetime);
  });

  it('appends MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT in that order, all verifiable', () => {
    const bytes = encodeMessage(
      spec({ integrityKey: KEY, integritySha256Key: KEY, fingerprint: true }),
      nodeStunCrypto,
    );
    const msg = decodeMessage(bytes);
    expect(msg.attributes.map((a) => [a.type, a.value.length])).toEqual([
      [AttrType.Software, 5],
      [AttrType.MessageIntegrity, 20],
      [AttrType.MessageIntegritySha256, 32],
      [AttrType.Fingerprint, 4],
    ]);
    expect(verifyMessageIntegrity(msg, KEY, nodeStunCrypto)).toBe(true);
    expect(verifyMessageIntegritySha256(msg, KEY, nodeStunCrypto)).toBe(true);
    expect(verifyFingerprint(msg)).toBe(true);
    expect(new DataView(bytes.buffer).getUint16(2)).toBe(bytes.length - 20);
  });

  it.each([
    [{ integrityKey: KEY }, 'MESSAGE-INTEGRITY'],
    [{ integritySha256Key: KEY }, 'MESSAGE-INTEGRITY-SHA256'],
  ])('throws StunEncodeError for a key without StunCrypto (%j)', (extra, name) => {
    expect(() => encodeMessage(spec(extra))).toThrow(StunEncodeError);
    expect(() => encodeMessage(spec(extra))).toThrow(
      `attribute/${name}: a key was given without a StunCrypto`,
    );
  });

  it('does not need StunCrypto for FINGERPRINT alone', () => {
    expect(verifyFingerprint(decodeMessage(encodeMessage(spec({ fingerprint: true }))))).toBe(true);
  });

  it('rejects a StunCrypto that returns digests of the wrong size', () => {
    const short: StunCrypto = { ...nodeStunCrypto, hmacSha1: () => new Uint8Array(16) };
    expect(() => encodeMessage(spec({ integrityKey: KEY }), short)).toThrow(
      'attribute/MESSAGE-INTEGRITY: StunCrypto returned 16 bytes, expected 20',
    );
    const long: StunCrypto = { ...nodeStunCrypto, hmacSha256: () => new Uint8Array(64) };
    expect(() => encodeMessage(spec({ integritySha256Key: KEY }), long)).toThrow(StunEncodeError);
  });

  it('rejects a transaction ID that is not 12 bytes', () => {
    expect(() => encodeMessage(spec({ transactionId: new Uint8Array(16) }))).toThrow(
      'header: transaction id length 16, expected 12',
    );
  });

  it('rejects an attribute value over 65535 bytes, naming the attribute', () => {
    expect(() =>
      encodeMessage(spec({ attributes: [rawAttr(AttrType.Data, new Uint8Array(65536))] })),
    ).toThrow('attribute/DATA: length 65536, max 65535');
  });

  it('rejects a message whose body exceeds the 16-bit length field', () => {
    const big = rawAttr(AttrType.Data, new Uint8Array(65000));
    expect(() => encodeMessage(spec({ attributes: [big, big] }))).toThrow(StunEncodeError);
    const almost = rawAttr(AttrType.Data, new Uint8Array(65521)); // 4 + 65524 + 8 bytes
    expect(() => encodeMessage(spec({ attributes: [almost], fingerprint: true }))).toThrow(
      'message: length 65536, max 65535',
    );
  });

  it('accepts the largest possible message', () => {
    const value = new Uint8Array(65520); // 4 + 65520 + 8 = 65532, the largest multiple of 4
    const bytes = encodeMessage(
      spec({ attributes: [rawAttr(AttrType.Data, value)], fingerprint: true }),
    );
    expect(bytes.length).toBe(20 + 65532);
    expect(verifyFingerprint(decodeMessage(bytes))).toBe(true);
  });

  it.each([-1, 0x10000, 1.5])('rejects attribute type %d', (type) => {
    expect(() => encodeMessage(spec({ attributes: [rawAttr(type, new Uint8Array(0))] }))).toThrow(
      StunEncodeError,
    );
  });

  it('propagates codec encode errors', () => {
    expect(() => encodeMessage(spec({ attributes: [attr(username, 'x'.repeat(600))] }))).toThrow(
      'attribute/USERNAME: length 600, max 513',
    );
  });
});

describe('newTransactionId', () => {
  it('returns 12 random bytes', () => {
    const a = newTransactionId();
    const b = newTransactionId();
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(12);
    expect(a).not.toEqual(b);
  });
});
