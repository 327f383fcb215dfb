/**
 * IPv6 addresses that carry an IPv4 address: mapped, compatible, 6to4, NAT64 and Teredo.
 * @module
 */
import { IPV4_LENGTH, IPV6_LENGTH, isIpv4Mapped } from './ip-address.js';

/** The IPv6 forms that embed an IPv4 address, by name (used in denial reasons). */
export const Ipv4EmbeddingForm = {
  /** `::a.b.c.d` (deprecated). RFC 4291 §2.5.5.1. */
  Compatible: 'ipv4-compatible',
  /** `2002:AABB:CCDD::/48`. RFC 3056 §2. */
  SixToFour: '6to4',
  /** `64:ff9b::a.b.c.d`. RFC 6052 §2.1. */
  Nat64: 'nat64',
  /** `64:ff9b:1:…:a.b.c.d`, the local-use prefix, decoded as a /96. RFC 8215. */
  Nat64Local: 'nat64 local-use',
  /** Teredo server address, bits 32-63 of `2001:0::/32`. RFC 4380 §4. */
  TeredoServer: 'teredo server',
  /** Teredo client's public address, the last 32 bits inverted. RFC 4380 §4. */
  TeredoClient: 'teredo client',
} as const;
/** One of {@link Ipv4EmbeddingForm}. */
export type Ipv4EmbeddingForm = (typeof Ipv4EmbeddingForm)[keyof typeof Ipv4EmbeddingForm];

/** An IPv4 address found inside an IPv6 address. */
export interface EmbeddedIpv4 {
  readonly form: Ipv4EmbeddingForm;
  /** 4 bytes. */
  readonly address: Uint8Array;
}

interface Embedding {
  readonly prefix: readonly number[];
  readonly extract: (bytes: Uint8Array) => EmbeddedIpv4[];
}

const last32 = (bytes: Uint8Array): Uint8Array => bytes.slice(IPV6_LENGTH - IPV4_LENGTH);

const EMBEDDINGS: readonly Embedding[] = [
  {
    prefix: [0x20, 0x02],
    extract: (b) => [{ form: Ipv4EmbeddingForm.SixToFour, address: b.slice(2, 6) }],
  },
  {
    prefix: [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0],
    extract: (b) => [{ form: Ipv4EmbeddingForm.Nat64, address: last32(b) }],
  },
  {
    // RFC 6052 allows other prefix lengths inside a /48; only the common /96 layout is decoded.
    prefix: [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01],
    extract: (b) => [{ form: Ipv4EmbeddingForm.Nat64Local, address: last32(b) }],
  },
  {
    prefix: [0x20, 0x01, 0x00, 0x00],
    extract: (b) => [
      { form: Ipv4EmbeddingForm.TeredoServer, address: b.slice(4, 8) },
      { form: Ipv4EmbeddingForm.TeredoClient, address: last32(b).map((x) => x ^ 0xff) },
    ],
  },
  {
    // `::` and `::1` share this prefix but are not IPv4-compatible addresses.
    prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    extract: (b) => {
      const v4 = last32(b);
      const isUnspecifiedOrLoopback = new DataView(v4.buffer).getUint32(0) <= 1;
      return isUnspecifiedOrLoopback ? [] : [{ form: Ipv4EmbeddingForm.Compatible, address: v4 }];
    },
  },
];

/**
 * Returns the IPv4 addresses embedded in an IPv6 address: one for compatible, 6to4 and NAT64
 * forms, two for Teredo (server, then client), none otherwise. IPv4-mapped addresses are not an
 * embedding but the IPv4 address itself: convert them first with {@link unmapIpv4}.
 */
export function extractEmbeddedIpv4(bytes: Uint8Array): EmbeddedIpv4[] {
  if (bytes.length !== IPV6_LENGTH) {
    return [];
  }
  const embedding = EMBEDDINGS.find((e) => e.prefix.every((b, i) => bytes[i] === b));
  return embedding?.extract(bytes) ?? [];
}

/** Returns the IPv4 address of an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else the bytes unchanged. */
export function unmapIpv4(bytes: Uint8Array): Uint8Array {
  return isIpv4Mapped(bytes) ? last32(bytes) : bytes;
}
