/**
 * Property tests (fast-check): decoding is total (returns or throws StunDecodeError only) on
 * arbitrary and mutated input, and every codec and the message encoder round-trip.
 * FUZZ_RUNS sets the runs per property (default 300; `npm run fuzz` runs many more).
 * @module
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_CODECS,
  AttrType,
  MessageClass,
  StreamFramer,
  StunDecodeError,
  attr,
  decodeChannelData,
  decodeMessage,
  encodeChannelData,
  encodeMessage,
  formatIpAddress,
  parseIpAddress,
  rawAttr,
  verifyFingerprint,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  type AttributeCodec,
  type AttributeEntry,
  type MessageSpec,
  type StunMessage,
  type TransportAddress,
} from '../src/index.js';
import { nodeStunCrypto } from '../src/node-crypto.js';

const NUM_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const params = { numRuns: NUM_RUNS };

/** Runs `fn`; any exception other than StunDecodeError fails the property. */
function onlyDecodeErrors(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof StunDecodeError)) {
      throw error;
    }
  }
}

/** Reads every registered attribute from the message and runs all verifications. */
function exercise(msg: StunMessage): void {
  const key = Uint8Array.of(1, 2, 3);
  for (const codec of ATTRIBUTE_CODECS.values()) {
    onlyDecodeErrors(() => msg.get(codec));
    onlyDecodeErrors(() => msg.getAll(codec));
  }
  expect(typeof verifyMessageIntegrity(msg, key, nodeStunCrypto)).toBe('boolean');
  expect(typeof verifyMessageIntegritySha256(msg, key, nodeStunCrypto)).toBe('boolean');
  expect(['boolean', 'undefined']).toContain(typeof verifyFingerprint(msg));
  expect(msg.transactionKey).toHaveLength(24);
}

function decodeAndExercise(bytes: Uint8Array): void {
  onlyDecodeErrors(() => {
    exercise(decodeMessage(bytes));
  });
}

// ---------------------------------------------------------------------------------------------
// Value arbitraries for every codec.

const uint8 = fc.integer({ min: 0, max: 0xff });
const uint16 = fc.integer({ min: 0, max: 0xffff });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (maxLength = 64): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
const fixedBytes = (length: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: length, maxLength: length });
const textUpTo = (maxBytes: number): fc.Arbitrary<string> =>
  fc
    .string({ unit: 'binary', maxLength: 80 })
    .filter((s) => new TextEncoder().encode(s).length <= maxBytes);
const transportAddress: fc.Arbitrary<TransportAddress> = fc.oneof(
  fc.record({
    family: fc.constant(4 as const),
    address: fixedBytes(4).map((b) => formatIpAddress(b)!),
    port: uint16,
  }),
  fc.record({
    family: fc.constant(6 as const),
    address: fc
      .oneof(fixedBytes(16), fc.tuple(fc.integer({ min: 0, max: 15 }), fixedBytes(16)).map(zeroRun))
      .map((b) => formatIpAddress(b)!),
    port: uint16,
  }),
);
/** Zeroes a run of groups so that `::` compression is exercised. */
function zeroRun([start, b]: [number, Uint8Array]): Uint8Array {
  return b.fill(0, start, Math.min(16, start + 6));
}
const errorCodeValue = fc.record({
  code: fc.integer({ min: 300, max: 699 }),
  reason: textUpTo(763),
});
const passwordAlgorithmValue = fc.record({ algorithm: uint16, parameters: bytes(12) });

const VALUE_ARBITRARIES = new Map<number, fc.Arbitrary<unknown>>([
  [AttrType.MappedAddress, transportAddress],
  [AttrType.XorMappedAddress, transportAddress],
  [AttrType.XorPeerAddress, transportAddress],
  [AttrType.XorRelayedAddress, transportAddress],
  [AttrType.AlternateServer, transportAddress],
  [AttrType.ResponseOrigin, transportAddress],
  [AttrType.OtherAddress, transportAddress],
  [AttrType.Username, textUpTo(513)],
  [AttrType.Realm, textUpTo(763)],
  [AttrType.Nonce, textUpTo(763)],
  [AttrType.Software, textUpTo(763)],
  [AttrType.AlternateDomain, textUpTo(255)],
  [AttrType.MessageIntegrity, fixedBytes(20)],
  [AttrType.MessageIntegritySha256, fc.constantFrom(16, 20, 24, 28, 32).chain(fixedBytes)],
  [AttrType.Fingerprint, uint32],
  [AttrType.ErrorCode, errorCodeValue],
  [AttrType.UnknownAttributes, fc.array(uint16, { maxLength: 10 })],
  [AttrType.ChannelNumber, uint16],
  [AttrType.Lifetime, uint32],
  [AttrType.Data, bytes()],
  [AttrType.RequestedAddressFamily, uint8],
  [AttrType.AdditionalAddressFamily, uint8],
  [
    AttrType.AddressErrorCode,
    fc.record({ family: uint8, code: fc.integer({ min: 300, max: 699 }), reason: textUpTo(763) }),
  ],
  [AttrType.EvenPort, fc.boolean()],
  [AttrType.RequestedTransport, uint8],
  [AttrType.DontFragment, fc.constant(true)],
  [AttrType.ReservationToken, fixedBytes(8)],
  [AttrType.PasswordAlgorithm, passwordAlgorithmValue],
  [AttrType.PasswordAlgorithms, fc.array(passwordAlgorithmValue, { maxLength: 5 })],
  [AttrType.Userhash, fixedBytes(32)],
  [AttrType.AccessToken, bytes()],
  [AttrType.Icmp, fc.record({ type: uint8, code: uint8, errorData: uint32 })],
  [AttrType.ConnectionId, uint32],
  [AttrType.Priority, uint32],
  [AttrType.UseCandidate, fc.constant(true)],
  [AttrType.IceControlled, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })],
  [AttrType.IceControlling, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })],
  [AttrType.ChangeRequest, fc.record({ changeIp: fc.boolean(), changePort: fc.boolean() })],
  [AttrType.ResponsePort, uint16],
  [AttrType.Padding, bytes()],
  [AttrType.CacheTimeout, uint32],
  [AttrType.TransactionTransmitCounter, fc.record({ request: uint8, response: uint8 })],
]);

function valueArbitrary(codec: AttributeCodec<unknown>): fc.Arbitrary<unknown> {
  const arbitrary = VALUE_ARBITRARIES.get(codec.type);
  if (arbitrary === undefined) {
    throw new Error(`no arbitrary for ${codec.name}`);
  }
  return arbitrary;
}

const CODECS = [...ATTRIBUTE_CODECS.values()];
/** Codecs whose position rules would hide the attributes after them. */
const TRAILER_TYPES = new Set<number>([
  AttrType.MessageIntegrity,
  AttrType.MessageIntegritySha256,
  AttrType.Fingerprint,
]);
const BODY_CODECS = CODECS.filter((c) => !TRAILER_TYPES.has(c.type));

interface Generated {
  readonly codec: AttributeCodec<unknown>;
  readonly value: unknown;
}

const generatedAttribute: fc.Arbitrary<Generated> = fc
  .constantFrom(...BODY_CODECS)
  .chain((codec) => valueArbitrary(codec).map((value) => ({ codec, value })));

const transactionId = fixedBytes(12);
const messageClass = fc.constantFrom(...Object.values(MessageClass));
const optionalKey = fc.option(bytes(40), { nil: undefined });

const messageSpec = fc.record({
  method: fc.integer({ min: 0, max: 0xfff }),
  messageClass,
  transactionId,
  generated: fc.array(generatedAttribute, { maxLength: 8 }),
  integrityKey: optionalKey,
  integritySha256Key: optionalKey,
  fingerprint: fc.boolean(),
});

type MessageSpecValue = typeof messageSpec extends fc.Arbitrary<infer T> ? T : never;

function toSpec(s: MessageSpecValue): MessageSpec {
  return {
    method: s.method,
    messageClass: s.messageClass,
    transactionId: s.transactionId,
    attributes: s.generated.map((g) => attr(g.codec, g.value)),
    integrityKey: s.integrityKey,
    integritySha256Key: s.integritySha256Key,
    fingerprint: s.fingerprint,
  };
}

const validMessage = messageSpec.map((s) => encodeMessage(toSpec(s), nodeStunCrypto));

/** A well-formed header followed by random TLVs: decodes structurally, values are arbitrary. */
const stunShaped = fc
  .tuple(
    fc.integer({ min: 0, max: 0x3fff }),
    transactionId,
    fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...ATTRIBUTE_CODECS.keys()), uint16),
        fc.oneof(bytes(40), fc.integer({ min: 0, max: 40 }).chain(fixedBytes)),
      ),
      { maxLength: 8 },
    ),
  )
  .map(([type, tid, tlvs]) => {
    const entries: AttributeEntry[] = tlvs.map(([t, v]) => rawAttr(t, v));
    const out = encodeMessage({
      method: 0,
      messageClass: 0,
      transactionId: tid,
      attributes: entries,
    });
    new DataView(out.buffer).setUint16(0, type);
    return out;
  });

const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    mask: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: bytes(12) }),
  fc.record({ kind: fc.constant('length' as const), value: uint16 }),
);

function mutate(input: Uint8Array, m: MutationValue): Uint8Array {
  const out = input.slice();
  switch (m.kind) {
    case 'flip':
      if (out.length > 0) {
        out[m.at % out.length] = out.at(m.at % out.length)! ^ m.mask;
      }
      return out;
    case 'truncate':
      return out.subarray(0, m.at % (out.length + 1));
    case 'extend':
      return Uint8Array.of(...out, ...m.extra);
    case 'length':
      if (out.length >= 4) {
        new DataView(out.buffer).setUint16(2, m.value);
      }
      return out;
  }
}
type MutationValue = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------

describe('fuzz: decoding is total', () => {
  it('decodeMessage and every get() on arbitrary bytes throw only StunDecodeError', () => {
    fc.assert(
      fc.property(bytes(120), (input) => {
        decodeAndExercise(input);
      }),
      params,
    );
  });

  it('decodeMessage and every get() on STUN-shaped random attributes throw only StunDecodeError', () => {
    fc.assert(
      fc.property(stunShaped, (input) => {
        decodeAndExercise(input);
      }),
      params,
    );
  });

  it('mutated valid messages (flip, truncate, extend, length) throw only StunDecodeError', () => {
    fc.assert(
      fc.property(
        validMessage,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (input, mutations) => {
          decodeAndExercise(mutations.reduce(mutate, input));
        },
      ),
      params,
    );
  });

  it('decodeChannelData on arbitrary bytes returns a consistent view or throws StunDecodeError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(40),
          fc
            .tuple(fc.integer({ min: 0x40, max: 0x4f }), bytes(40))
            .map(([b, r]) => Uint8Array.of(b, ...r)),
        ),
        (input) => {
          onlyDecodeErrors(() => {
            const decoded = decodeChannelData(input);
            expect(decoded.data.length).toBeLessThanOrEqual(input.length - 4);
          });
        },
      ),
      params,
    );
  });

  it('StreamFramer under arbitrary chunking of arbitrary bytes throws only StunDecodeError and stays failed', () => {
    const stream = fc.oneof(
      bytes(200),
      fc
        .array(fc.oneof(validMessage, bytes(30)), { maxLength: 4 })
        .map((parts) => Uint8Array.of(...parts.flatMap((p) => [...p]))),
    );
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }),
        (input, sizes) => {
          let delivered = 0;
          const framer = new StreamFramer((frame) => {
            delivered += frame.length;
          });
          let failure: unknown;
          let offset = 0;
          for (let i = 0; offset < input.length; i++) {
            const n = sizes[i % sizes.length]!;
            const chunk = input.subarray(offset, offset + n);
            offset += n;
            try {
              framer.push(chunk);
            } catch (error) {
              expect(error).toBeInstanceOf(StunDecodeError);
              failure ??= error;
              expect(error).toBe(failure);
            }
          }
          expect(delivered + framer.bufferedBytes).toBeLessThanOrEqual(input.length);
        },
      ),
      params,
    );
  });

  it('StreamFramer splits any chunking of a valid STUN/ChannelData stream into the original frames', () => {
    const frame = fc.oneof(
      validMessage.map((b) => ({ kind: 'stun' as const, wire: b, frame: b })),
      fc.tuple(fc.integer({ min: 0x4000, max: 0x4fff }), bytes(50)).map(([ch, data]) => {
        const wire = encodeChannelData(ch, data, true);
        return { kind: 'channel-data' as const, wire, frame: wire.subarray(0, 4 + data.length) };
      }),
    );
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }),
        (frames, sizes) => {
          const received: { kind: string; frame: number[] }[] = [];
          const framer = new StreamFramer((f, kind) => received.push({ kind, frame: [...f] }));
          const input = Uint8Array.of(...frames.flatMap((f) => [...f.wire]));
          let offset = 0;
          for (let i = 0; offset < input.length; i++) {
            const n = sizes[i % sizes.length]!;
            framer.push(input.subarray(offset, offset + n));
            offset += n;
          }
          expect(received).toEqual(frames.map((f) => ({ kind: f.kind, frame: [...f.frame] })));
          expect(framer.bufferedBytes).toBe(0);
        },
      ),
      params,
    );
  });
});

describe('fuzz: round trips', () => {
  it('every registered codec has a value arbitrary', () => {
    for (const codec of CODECS) {
      expect(VALUE_ARBITRARIES.has(codec.type), codec.name).toBe(true);
    }
  });

  it.each(CODECS.map((c) => [c.name, c] as const))(
    '%s: decode(encode(v)) deep-equals v',
    (_name, codec) => {
      fc.assert(
        fc.property(valueArbitrary(codec), transactionId, (value, tid) => {
          const ctx = { transactionId: tid };
          expect(codec.decode(codec.encode(value, ctx), ctx)).toEqual(value);
        }),
        { numRuns: Math.max(20, Math.floor(NUM_RUNS / 3)) },
      );
    },
  );

  it('encodeMessage → decodeMessage round-trips attribute lists, integrity and fingerprint', () => {
    fc.assert(
      fc.property(messageSpec, (s) => {
        const spec = toSpec(s);
        const msg = decodeMessage(encodeMessage(spec, nodeStunCrypto));
        expect(msg.method).toBe(s.method);
        expect(msg.messageClass).toBe(s.messageClass);
        expect(msg.transactionId).toEqual(s.transactionId);
        const trailer = [
          ...(s.integrityKey !== undefined ? [AttrType.MessageIntegrity] : []),
          ...(s.integritySha256Key !== undefined ? [AttrType.MessageIntegritySha256] : []),
          ...(s.fingerprint ? [AttrType.Fingerprint] : []),
        ];
        expect(msg.attributes.map((a) => a.type)).toEqual([
          ...s.generated.map((g) => g.codec.type),
          ...trailer,
        ]);
        for (const g of s.generated) {
          expect(msg.getAll(g.codec)).toContainEqual(g.value);
        }
        expect(msg.unknownRequired).toEqual([]);
        if (s.integrityKey !== undefined) {
          expect(verifyMessageIntegrity(msg, s.integrityKey, nodeStunCrypto)).toBe(true);
        }
        if (s.integritySha256Key !== undefined) {
          expect(verifyMessageIntegritySha256(msg, s.integritySha256Key, nodeStunCrypto)).toBe(
            true,
          );
        }
        expect(verifyFingerprint(msg)).toBe(s.fingerprint ? true : undefined);
      }),
      params,
    );
  });

  it('IP text: any valid form parses, and formats canonically (checked against WHATWG URL for IPv6)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const parsed = parseIpAddress(text);
        expect(parsed).toBeDefined();
        const canonical = formatIpAddress(parsed!)!;
        expect(parseIpAddress(canonical)).toEqual(parsed);
        if (parsed!.length === 16 && !canonical.startsWith('::ffff:')) {
          // WHATWG serializes IPv6 exactly like RFC 5952 §4, except for mixed IPv4 notation.
          expect(`[${canonical}]`).toBe(new URL(`http://[${text}]/`).hostname);
        }
      }),
      params,
    );
  });
});
