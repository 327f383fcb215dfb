import { describe, expect, it } from 'vitest';
import { attr, rawAttr } from './attribute.js';
import { software } from './attributes/index.js';
import { AttrType, MessageClass, Method, PasswordAlgorithmId } from './constants.js';
import { encodeMessage } from './encode.js';
import { StunEncodeError } from './errors.js';
import {
  computeUserhash,
  longTermKey,
  verifyFingerprint,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from './integrity.js';
import { decodeMessage } from './message.js';
import { nodeStunCrypto } from './node-crypto.js';
import type { AttributeEntry } from './types.js';

const TID = new Uint8Array(12).fill(1);
const KEY = new TextEncoder().encode('pass');
const OTHER = new TextEncoder().encode('other');

function build(
  attributes: AttributeEntry[],
  extra: { integrityKey?: Uint8Array; sha?: Uint8Array; fp?: boolean } = {},
) {
  return encodeMessage(
    {
      method: Method.Binding,
      messageClass: MessageClass.Request,
      transactionId: TID,
      attributes,
      integrityKey: extra.integrityKey,
      integritySha256Key: extra.sha,
      fingerprint: extra.fp,
    },
    nodeStunCrypto,
  );
}

/** A message ending in a MESSAGE-INTEGRITY-SHA256 truncated to `length` bytes. */
function truncatedSha256(length: number, key: Uint8Array): Uint8Array {
  const prefix = build([attr(software, 'x')]);
  const view = new DataView(prefix.buffer);
  view.setUint16(2, prefix.length - 20 + 4 + length);
  const digest = nodeStunCrypto.hmacSha256(key, prefix).subarray(0, length);
  return build([attr(software, 'x'), rawAttr(AttrType.MessageIntegritySha256, digest)]);
}

describe('verifyMessageIntegrity', () => {
  it('is true for the right key and false for another key', () => {
    const msg = decodeMessage(build([attr(software, 'x')], { integrityKey: KEY, fp: true }));
    expect(verifyMessageIntegrity(msg, KEY, nodeStunCrypto)).toBe(true);
    expect(verifyMessageIntegrity(msg, OTHER, nodeStunCrypto)).toBe(false);
  });

  it('is false when absent or not 20 bytes', () => {
    expect(verifyMessageIntegrity(decodeMessage(build([])), KEY, nodeStunCrypto)).toBe(false);
    const short = decodeMessage(build([rawAttr(AttrType.MessageIntegrity, new Uint8Array(16))]));
    expect(verifyMessageIntegrity(short, KEY, nodeStunCrypto)).toBe(false);
  });

  it('is false when StunCrypto returns a digest of another length', () => {
    const msg = decodeMessage(build([attr(software, 'x')], { integrityKey: KEY }));
    const short = { ...nodeStunCrypto, hmacSha1: () => new Uint8Array(16) };
    expect(verifyMessageIntegrity(msg, KEY, short)).toBe(false);
  });

  it('still verifies when ignored attributes follow MESSAGE-INTEGRITY', () => {
    const bytes = build([attr(software, 'x')], { integrityKey: KEY });
    const extended = Uint8Array.of(...bytes, 0x00, 0x06, 0x00, 0x01, 0x61, 0, 0, 0);
    new DataView(extended.buffer).setUint16(2, extended.length - 20);
    expect(verifyMessageIntegrity(decodeMessage(extended), KEY, nodeStunCrypto)).toBe(true);
  });

  it('detects a flipped bit anywhere before the attribute', () => {
    const bytes = build([attr(software, 'hello')], { integrityKey: KEY });
    bytes[25] = bytes.at(25)! ^ 1;
    expect(verifyMessageIntegrity(decodeMessage(bytes), KEY, nodeStunCrypto)).toBe(false);
  });
});

describe('verifyMessageIntegritySha256', () => {
  it.each([16, 20, 24, 28, 32])('accepts a value truncated to %i bytes', (length) => {
    const msg = decodeMessage(truncatedSha256(length, KEY));
    expect(verifyMessageIntegritySha256(msg, KEY, nodeStunCrypto)).toBe(true);
    expect(verifyMessageIntegritySha256(msg, OTHER, nodeStunCrypto)).toBe(false);
  });

  it.each([8, 18, 36])('is false for an invalid length of %i bytes', (length) => {
    const msg = decodeMessage(
      build([rawAttr(AttrType.MessageIntegritySha256, new Uint8Array(length))]),
    );
    expect(verifyMessageIntegritySha256(msg, KEY, nodeStunCrypto)).toBe(false);
  });

  it('is false when absent, and covers a preceding MESSAGE-INTEGRITY', () => {
    expect(verifyMessageIntegritySha256(decodeMessage(build([])), KEY, nodeStunCrypto)).toBe(false);
    const bytes = build([attr(software, 'x')], { integrityKey: KEY, sha: KEY });
    bytes[bytes.length - 40] = bytes.at(bytes.length - 40)! ^ 1; // inside MESSAGE-INTEGRITY
    expect(verifyMessageIntegritySha256(decodeMessage(bytes), KEY, nodeStunCrypto)).toBe(false);
  });
});

describe('verifyFingerprint', () => {
  it('is undefined when absent, true when right, false when wrong or malformed', () => {
    expect(verifyFingerprint(decodeMessage(build([])))).toBeUndefined();
    const bytes = build([attr(software, 'x')], { fp: true });
    expect(verifyFingerprint(decodeMessage(bytes))).toBe(true);
    bytes[bytes.length - 1] = bytes.at(bytes.length - 1)! ^ 1;
    expect(verifyFingerprint(decodeMessage(bytes))).toBe(false);
    const long = decodeMessage(build([rawAttr(AttrType.Fingerprint, new Uint8Array(8))]));
    expect(verifyFingerprint(long)).toBe(false);
  });
});

describe('longTermKey / computeUserhash', () => {
  it('hashes username:realm:SASLprep(password) with MD5 or SHA-256', () => {
    const input = new TextEncoder().encode('user:realm:IX');
    expect(longTermKey('user', 'realm', '\u2168', PasswordAlgorithmId.Md5, nodeStunCrypto)).toEqual(
      nodeStunCrypto.md5(input),
    );
    expect(
      longTermKey('user', 'realm', 'I\u00adX', PasswordAlgorithmId.Sha256, nodeStunCrypto),
    ).toEqual(nodeStunCrypto.sha256(input));
  });

  it('throws StunEncodeError for an unknown algorithm', () => {
    expect(() => longTermKey('u', 'r', 'p', 3 as PasswordAlgorithmId, nodeStunCrypto)).toThrow(
      StunEncodeError,
    );
    expect(() => longTermKey('u', 'r', 'p', 3 as PasswordAlgorithmId, nodeStunCrypto)).toThrow(
      'long-term-key: unknown password algorithm 3',
    );
  });

  it('computes USERHASH as SHA-256 of username:realm', () => {
    expect(computeUserhash('user', 'realm', nodeStunCrypto)).toEqual(
      nodeStunCrypto.sha256(new TextEncoder().encode('user:realm')),
    );
  });
});
