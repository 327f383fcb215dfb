/**
 * RFC 5769 test vectors (§2.1-2.4) and the RFC 8489 Appendix B.1 vector as corrected by erratum 6268.
 *
 * Padding: the §2.1-2.3 vectors pad USERNAME/SOFTWARE with 0x20 (spaces), which RFC 8489 §14
 * allows senders to do, while encodeMessage always pads with zeros. So for those vectors we
 * (1) verify MESSAGE-INTEGRITY and FINGERPRINT over the vector bytes as given, (2) check that
 * the re-encoding equals the vector everywhere except the padding bytes and the two digests
 * that cover them, and that its own digests verify, and (3) for §2.1, check that the
 * re-encoding equals the vector with zeroed padding and digests recomputed by reference code
 * (node:crypto HMAC, zlib CRC-32). The §2.4 and B.1 vectors pad with zeros and must re-encode
 * byte for byte.
 * @module
 */
import { createHmac } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  AttrType,
  MessageClass,
  Method,
  PasswordAlgorithmId,
  attr,
  computeUserhash,
  decodeMessage,
  encodeMessage,
  iceControlled,
  longTermKey,
  messageIntegrity,
  messageIntegritySha256,
  nonce,
  passwordAlgorithm,
  priority,
  realm,
  software,
  userhash,
  username,
  verifyFingerprint,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  xorMappedAddress,
  type StunMessage,
  type AttributeEntry,
} from '../src/index.js';
import { nodeStunCrypto } from '../src/node-crypto.js';
import { padLength } from '../src/attribute.js';
import { hexDump } from './hex.js';

const encoder = new TextEncoder();
/** Short-term password of §2.1-2.3; the key is its UTF-8 bytes. RFC 8489 §9.1.1. */
const SHORT_TERM_KEY = encoder.encode('VOkJxbRl1RmTxUk/WvJxBt');

/** RFC 5769 §2.1 Sample Request. USERNAME is padded with 0x20 (spaces). */
const SAMPLE_REQUEST = hexDump(`
  00 01 00 58     Request type and message length
  21 12 a4 42     Magic cookie
  b7 e7 a7 01  }
  bc 34 d6 86  }  Transaction ID
  fa 87 df ae  }
  80 22 00 10     SOFTWARE attribute header
  53 54 55 4e  }
  20 74 65 73  }  User-agent...
  74 20 63 6c  }  ...name
  69 65 6e 74  }
  00 24 00 04     PRIORITY attribute header
  6e 00 01 ff     ICE priority value
  80 29 00 08     ICE-CONTROLLED attribute header
  93 2f f9 b1  }  Pseudo-random tie breaker...
  51 26 3b 36  }   ...for ICE control
  00 06 00 09     USERNAME attribute header
  65 76 74 6a  }
  3a 68 36 76  }  Username (9 bytes) and padding (3 bytes)
  59 20 20 20  }
  00 08 00 14     MESSAGE-INTEGRITY attribute header
  9a ea a7 0c  }
  bf d8 cb 56  }
  78 1e f2 b5  }  HMAC-SHA1 fingerprint
  b2 d3 f2 49  }
  c1 b5 71 a2  }
  80 28 00 04     FINGERPRINT attribute header
  e5 7a 3b cf     CRC32 fingerprint
`);

/** RFC 5769 §2.2 Sample IPv4 Response. SOFTWARE is padded with 0x20. */
const SAMPLE_IPV4_RESPONSE = hexDump(`
  01 01 00 3c     Response type and message length
  21 12 a4 42     Magic cookie
  b7 e7 a7 01  }
  bc 34 d6 86  }  Transaction ID
  fa 87 df ae  }
  80 22 00 0b     SOFTWARE attribute header
  74 65 73 74  }
  20 76 65 63  }  UTF-8 server name
  74 6f 72 20  }
  00 20 00 08     XOR-MAPPED-ADDRESS attribute header
  00 01 a1 47     Address family (IPv4) and xor'd mapped port number
  e1 12 a6 43     Xor'd mapped IPv4 address
  00 08 00 14     MESSAGE-INTEGRITY attribute header
  2b 91 f5 99  }
  fd 9e 90 c3  }
  8c 74 89 f9  }  HMAC-SHA1 fingerprint
  2a f9 ba 53  }
  f0 6b e7 d7  }
  80 28 00 04     FINGERPRINT attribute header
  c0 7d 4c 96     CRC32 fingerprint
`);

/** RFC 5769 §2.3 Sample IPv6 Response. SOFTWARE is padded with 0x20. */
const SAMPLE_IPV6_RESPONSE = hexDump(`
  01 01 00 48     Response type and message length
  21 12 a4 42     Magic cookie
  b7 e7 a7 01  }
  bc 34 d6 86  }  Transaction ID
  fa 87 df ae  }
  80 22 00 0b     SOFTWARE attribute header
  74 65 73 74  }
  20 76 65 63  }  UTF-8 server name
  74 6f 72 20  }
  00 20 00 14     XOR-MAPPED-ADDRESS attribute header
  00 02 a1 47     Address family (IPv6) and xor'd mapped port number
  01 13 a9 fa  }
  a5 d3 f1 79  }  Xor'd mapped IPv6 address
  bc 25 f4 b5  }
  be d2 b9 d9  }
  00 08 00 14     MESSAGE-INTEGRITY attribute header
  a3 82 95 4e  }
  4b e6 7b f1  }
  17 84 c9 7c  }  HMAC-SHA1 fingerprint
  82 92 c2 75  }
  bf e3 ed 41  }
  80 28 00 04     FINGERPRINT attribute header
  c8 fb 0b 4c     CRC32 fingerprint
`);

/** RFC 5769 §2.4 Sample Request with Long-Term Authentication. Padding is zero. */
const SAMPLE_LONG_TERM_REQUEST = hexDump(`
  00 01 00 60     Request type and message length
  21 12 a4 42     Magic cookie
  78 ad 34 33  }
  c6 ad 72 c0  }  Transaction ID
  29 da 41 2e  }
  00 06 00 12     USERNAME attribute header
  e3 83 9e e3  }
  83 88 e3 83  }
  aa e3 83 83  }  Username value (18 bytes) and padding (2 bytes)
  e3 82 af e3  }
  82 b9 00 00  }
  00 15 00 1c     NONCE attribute header
  66 2f 2f 34  }
  39 39 6b 39  }
  35 34 64 36  }
  4f 4c 33 34  }  Nonce value
  6f 4c 39 46  }
  53 54 76 79  }
  36 34 73 41  }
  00 14 00 0b     REALM attribute header
  65 78 61 6d  }
  70 6c 65 2e  }  Realm value (11 bytes) and padding (1 byte)
  6f 72 67 00  }
  00 08 00 14     MESSAGE-INTEGRITY attribute header
  f6 70 24 65  }
  6d d6 4a 3e  }
  02 b8 e0 71  }  HMAC-SHA1 fingerprint
  2e 85 c9 a2  }
  8c a8 96 66  }
`);

/**
 * RFC 8489 Appendix B.1 as corrected by erratum 6268 (the published vector has a wrong length
 * field, lacks PASSWORD-ALGORITHM and carries a MESSAGE-INTEGRITY-SHA256 that does not verify).
 */
const SAMPLE_SHA256_REQUEST = hexDump(`
  00 01 00 90     Request type and message length
  21 12 a4 42     Magic cookie
  78 ad 34 33  }
  c6 ad 72 c0  }  Transaction ID
  29 da 41 2e  }
  00 1e 00 20     USERHASH attribute header
  4a 3c f3 8f  }
  ef 69 92 bd  }
  a9 52 c6 78  }
  04 17 da 0f  }  Userhash value (32  bytes)
  24 81 94 15  }
  56 9e 60 b2  }
  05 c4 6e 41  }
  40 7f 17 04  }
  00 15 00 29     NONCE attribute header
  6f 62 4d 61  }
  74 4a 6f 73  }
  32 41 41 41  }
  43 66 2f 2f  }
  34 39 39 6b  }  Nonce value and padding (3 bytes)
  39 35 34 64  }
  36 4f 4c 33  }
  34 6f 4c 39  }
  46 53 54 76  }
  79 36 34 73  }
  41 00 00 00  }
  00 14 00 0b     REALM attribute header
  65 78 61 6d  }
  70 6c 65 2e  }  Realm value (11  bytes) and padding (1 byte)
  6f 72 67 00  }
  00 1d 00 04     PASSWORD-ALGORITHM attribute header
  00 02 00 00     PASSWORD-ALGORITHM value (4 bytes)
  00 1c 00 20     MESSAGE-INTEGRITY-SHA256 attribute header
  b5 c7 bf 00  }
  5b 6c 52 a2  }
  1c 51 c5 e8  }
  92 f8 19 24  }  HMAC-SHA256 value
  13 62 96 cb  }
  92 7c 43 14  }
  93 09 27 8c  }
  c6 51 8e 65  }
`);

const LONG_TERM_USERNAME = '\u30de\u30c8\u30ea\u30c3\u30af\u30b9';
const LONG_TERM_PASSWORD = 'The\u00adM\u00aatr\u2168';

/**
 * Byte positions where a zero-padding re-encode may differ from a vector: attribute padding
 * (the vectors pad with 0x20, we pad with 0x00), and the MESSAGE-INTEGRITY and FINGERPRINT
 * values, which cover that padding.
 */
function paddingAndDigestPositions(msg: StunMessage): Set<number> {
  const positions = new Set<number>();
  for (const a of msg.attributes) {
    const valueStart = a.offset + 4;
    const digest = a.type === 0x0008 || a.type === 0x8028;
    const from = digest ? valueStart : valueStart + a.value.length;
    for (let i = from; i < valueStart + padLength(a.value.length); i++) {
      positions.add(i);
    }
  }
  return positions;
}

function expectEqualExcept(actual: Uint8Array, expected: Uint8Array, skip: Set<number>): void {
  expect(actual.length).toBe(expected.length);
  const differing = [...actual.keys()].filter((i) => !skip.has(i) && actual[i] !== expected[i]);
  expect(differing).toEqual([]);
}

function reencode(msg: StunMessage, attributes: AttributeEntry[], key: Uint8Array): Uint8Array {
  return encodeMessage(
    {
      method: msg.method,
      messageClass: msg.messageClass,
      transactionId: msg.transactionId,
      attributes,
      integrityKey: key,
      fingerprint: true,
    },
    nodeStunCrypto,
  );
}

describe('RFC 5769 §2.1 sample request', () => {
  const msg = decodeMessage(SAMPLE_REQUEST);

  it('decodes header and every attribute', () => {
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.Request);
    expect(msg.transactionKey).toBe('b7e7a701bc34d686fa87dfae');
    expect(msg.attributes.map((a) => a.type)).toEqual([
      0x8022, 0x0024, 0x8029, 0x0006, 0x0008, 0x8028,
    ]);
    expect(msg.get(software)).toBe('STUN test client');
    expect(msg.get(priority)).toBe(0x6e0001ff);
    expect(msg.get(iceControlled)).toBe(0x932ff9b151263b36n);
    expect(msg.get(username)).toBe('evtj:h6vY');
    expect(msg.unknownRequired).toEqual([]);
  });

  it('verifies MESSAGE-INTEGRITY with the short-term password and FINGERPRINT', () => {
    expect(verifyMessageIntegrity(msg, SHORT_TERM_KEY, nodeStunCrypto)).toBe(true);
    expect(verifyMessageIntegrity(msg, encoder.encode('wrong'), nodeStunCrypto)).toBe(false);
    expect(verifyFingerprint(msg)).toBe(true);
  });

  it('re-encodes byte for byte except the 0x20 USERNAME padding and the digests over it', () => {
    const bytes = reencode(
      msg,
      [
        attr(software, 'STUN test client'),
        attr(priority, 0x6e0001ff),
        attr(iceControlled, 0x932ff9b151263b36n),
        attr(username, 'evtj:h6vY'),
      ],
      SHORT_TERM_KEY,
    );
    expectEqualExcept(bytes, SAMPLE_REQUEST, paddingAndDigestPositions(msg));
    const again = decodeMessage(bytes);
    expect(verifyMessageIntegrity(again, SHORT_TERM_KEY, nodeStunCrypto)).toBe(true);
    expect(verifyFingerprint(again)).toBe(true);
  });

  it('equals the vector with zeroed padding and digests recomputed by reference code', () => {
    const bytes = reencode(
      msg,
      [
        attr(software, 'STUN test client'),
        attr(priority, 0x6e0001ff),
        attr(iceControlled, 0x932ff9b151263b36n),
        attr(username, 'evtj:h6vY'),
      ],
      SHORT_TERM_KEY,
    );
    const expected = SAMPLE_REQUEST.slice();
    const view = new DataView(expected.buffer);
    const user = msg.getRaw(AttrType.Username)!;
    const mi = msg.getRaw(AttrType.MessageIntegrity)!;
    const fp = msg.getRaw(AttrType.Fingerprint)!;
    expected.fill(
      0,
      user.offset + 4 + user.value.length,
      user.offset + 4 + padLength(user.value.length),
    );
    // MESSAGE-INTEGRITY: HMAC-SHA1 of the bytes before it, length field counting up to its end.
    const signed = expected.slice(0, mi.offset);
    new DataView(signed.buffer).setUint16(2, mi.offset + 24 - 20);
    expected.set(createHmac('sha1', SHORT_TERM_KEY).update(signed).digest(), mi.offset + 4);
    // FINGERPRINT: zlib's CRC-32 of the bytes before it, XOR 0x5354554e.
    view.setUint32(fp.offset + 4, (zlibCrc32(expected.subarray(0, fp.offset)) ^ 0x5354554e) >>> 0);
    expect(bytes).toEqual(expected);
  });
});

describe('RFC 5769 §2.2 sample IPv4 response', () => {
  const msg = decodeMessage(SAMPLE_IPV4_RESPONSE);

  it('decodes XOR-MAPPED-ADDRESS 192.0.2.1:32853 and SOFTWARE', () => {
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.SuccessResponse);
    expect(msg.get(software)).toBe('test vector');
    expect(msg.get(xorMappedAddress)).toEqual({ family: 4, address: '192.0.2.1', port: 32853 });
  });

  it('verifies MESSAGE-INTEGRITY and FINGERPRINT', () => {
    expect(verifyMessageIntegrity(msg, SHORT_TERM_KEY, nodeStunCrypto)).toBe(true);
    expect(verifyFingerprint(msg)).toBe(true);
  });

  it('re-encodes byte for byte except the 0x20 SOFTWARE padding and the digests over it', () => {
    const bytes = reencode(
      msg,
      [
        attr(software, 'test vector'),
        attr(xorMappedAddress, { family: 4, address: '192.0.2.1', port: 32853 }),
      ],
      SHORT_TERM_KEY,
    );
    expectEqualExcept(bytes, SAMPLE_IPV4_RESPONSE, paddingAndDigestPositions(msg));
    const again = decodeMessage(bytes);
    expect(verifyMessageIntegrity(again, SHORT_TERM_KEY, nodeStunCrypto)).toBe(true);
    expect(verifyFingerprint(again)).toBe(true);
  });
});

describe('RFC 5769 §2.3 sample IPv6 response', () => {
  const msg = decodeMessage(SAMPLE_IPV6_RESPONSE);
  const mapped = {
    family: 6,
    address: '2001:db8:1234:5678:11:2233:4455:6677',
    port: 32853,
  } as const;

  it('decodes XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    expect(msg.get(software)).toBe('test vector');
    expect(msg.get(xorMappedAddress)).toEqual(mapped);
  });

  it('verifies MESSAGE-INTEGRITY and FINGERPRINT', () => {
    expect(verifyMessageIntegrity(msg, SHORT_TERM_KEY, nodeStunCrypto)).toBe(true);
    expect(verifyFingerprint(msg)).toBe(true);
  });

  it('re-encodes byte for byte except the 0x20 SOFTWARE padding and the digests over it', () => {
    const bytes = reencode(
      msg,
      [attr(software, 'test vector'), attr(xorMappedAddress, mapped)],
      SHORT_TERM_KEY,
    );
    expectEqualExcept(bytes, SAMPLE_IPV6_RESPONSE, paddingAndDigestPositions(msg));
    expect(verifyMessageIntegrity(decodeMessage(bytes), SHORT_TERM_KEY, nodeStunCrypto)).toBe(true);
  });
});

describe('RFC 5769 §2.4 sample request with long-term authentication', () => {
  const msg = decodeMessage(SAMPLE_LONG_TERM_REQUEST);
  const key = longTermKey(
    LONG_TERM_USERNAME,
    'example.org',
    LONG_TERM_PASSWORD,
    PasswordAlgorithmId.Md5,
    nodeStunCrypto,
  );

  it('decodes USERNAME, NONCE and REALM', () => {
    expect(msg.get(username)).toBe(LONG_TERM_USERNAME);
    expect(msg.get(nonce)).toBe('f//499k954d6OL34oL9FSTvy64sA');
    expect(msg.get(realm)).toBe('example.org');
    expect(verifyFingerprint(msg)).toBeUndefined();
  });

  it('verifies MESSAGE-INTEGRITY with MD5(username:realm:SASLprep(password))', () => {
    expect(verifyMessageIntegrity(msg, key, nodeStunCrypto)).toBe(true);
    const unprepped = nodeStunCrypto.md5(
      encoder.encode(`${LONG_TERM_USERNAME}:example.org:${LONG_TERM_PASSWORD}`),
    );
    expect(verifyMessageIntegrity(msg, unprepped, nodeStunCrypto)).toBe(false);
  });

  it('re-encodes byte for byte (the vector uses zero padding)', () => {
    const bytes = encodeMessage(
      {
        method: Method.Binding,
        messageClass: MessageClass.Request,
        transactionId: msg.transactionId,
        attributes: [
          attr(username, LONG_TERM_USERNAME),
          attr(nonce, 'f//499k954d6OL34oL9FSTvy64sA'),
          attr(realm, 'example.org'),
        ],
        integrityKey: key,
      },
      nodeStunCrypto,
    );
    expect(bytes).toEqual(SAMPLE_LONG_TERM_REQUEST);
  });
});

describe('RFC 8489 Appendix B.1 (erratum 6268) request with MESSAGE-INTEGRITY-SHA256 and USERHASH', () => {
  const msg = decodeMessage(SAMPLE_SHA256_REQUEST);
  const key = longTermKey(
    LONG_TERM_USERNAME,
    'example.org',
    LONG_TERM_PASSWORD,
    PasswordAlgorithmId.Sha256,
    nodeStunCrypto,
  );
  const nonceText = 'obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA';

  it('decodes USERHASH = SHA-256(username:realm), NONCE, REALM and PASSWORD-ALGORITHM', () => {
    expect(msg.get(userhash)).toEqual(
      computeUserhash(LONG_TERM_USERNAME, 'example.org', nodeStunCrypto),
    );
    expect(msg.get(nonce)).toBe(nonceText);
    expect(msg.get(realm)).toBe('example.org');
    expect(msg.get(passwordAlgorithm)).toEqual({ algorithm: 2, parameters: new Uint8Array(0) });
    expect(msg.get(messageIntegritySha256)?.length).toBe(32);
    expect(msg.get(messageIntegrity)).toBeUndefined();
  });

  it('verifies MESSAGE-INTEGRITY-SHA256 with SHA-256(username:realm:SASLprep(password))', () => {
    expect(verifyMessageIntegritySha256(msg, key, nodeStunCrypto)).toBe(true);
    expect(verifyMessageIntegrity(msg, key, nodeStunCrypto)).toBe(false);
  });

  it('re-encodes byte for byte (the vector uses zero padding)', () => {
    const bytes = encodeMessage(
      {
        method: Method.Binding,
        messageClass: MessageClass.Request,
        transactionId: msg.transactionId,
        attributes: [
          attr(userhash, computeUserhash(LONG_TERM_USERNAME, 'example.org', nodeStunCrypto)),
          attr(nonce, nonceText),
          attr(realm, 'example.org'),
          attr(passwordAlgorithm, {
            algorithm: PasswordAlgorithmId.Sha256,
            parameters: new Uint8Array(0),
          }),
        ],
        integritySha256Key: key,
      },
      nodeStunCrypto,
    );
    expect(bytes).toEqual(SAMPLE_SHA256_REQUEST);
  });
});

describe('Node Buffer inputs (Buffer#slice does not copy)', () => {
  it('decodes, reads XOR addresses and verifies without modifying the Buffer', () => {
    for (const vector of [SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE]) {
      const buffer = Buffer.from(vector);
      const msg = decodeMessage(buffer);
      expect(msg.get(xorMappedAddress)?.port).toBe(32853);
      expect(verifyMessageIntegrity(msg, SHORT_TERM_KEY, nodeStunCrypto)).toBe(true);
      expect(verifyFingerprint(msg)).toBe(true);
      expect(verifyMessageIntegrity(msg, SHORT_TERM_KEY, nodeStunCrypto)).toBe(true);
      expect(Uint8Array.from(buffer)).toEqual(vector);
    }
  });
});
