/**
 * Peer address policy: which XOR-PEER-ADDRESSes a TURN client may relay to.
 * @module
 */
export { createPeerPolicy } from './peer-policy.js';
export type { PeerDecision, PeerPolicy, PeerPolicyConfig } from './peer-policy.js';
export {
  parseIp,
  formatIp,
  isIpv4Mapped,
  compareIp,
  IPV4_LENGTH,
  IPV6_LENGTH,
} from './ip-address.js';
export { parseIpRange, rangeContains, formatIpRange } from './ip-range.js';
export type { IpRange } from './ip-range.js';
export {
  IPV4_SPECIAL_RANGES,
  IPV6_SPECIAL_RANGES,
  SpecialRangeKind,
  findSpecialRange,
} from './special-ranges.js';
export type { SpecialRange } from './special-ranges.js';
export { Ipv4EmbeddingForm, extractEmbeddedIpv4, unmapIpv4 } from './ipv4-embedding.js';
export type { EmbeddedIpv4 } from './ipv4-embedding.js';
