/**
 * PeerPolicy: which peer addresses a client may relay to (XOR-PEER-ADDRESS checks).
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import type { PeerPolicyOptions } from '../options.js';
import { compareIp, formatIp, parseIp } from './ip-address.js';
import { parseIpRange, rangeContains } from './ip-range.js';
import type { IpRange } from './ip-range.js';
import { extractEmbeddedIpv4, unmapIpv4 } from './ipv4-embedding.js';
import { SpecialRangeKind, findSpecialRange } from './special-ranges.js';

/**
 * The outcome of a peer check; a denial says why ("loopback 127.0.0.0/8"). `ownAddress` marks a
 * denial because the address is the server's own: the TURN core still lets it be another relay.
 */
export type PeerDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: string; readonly ownAddress?: true };

/** Options of {@link createPeerPolicy}: the operator's policy plus the server's own addresses. */
export interface PeerPolicyConfig extends PeerPolicyOptions {
  /** Addresses of the server itself (listening and relay addresses); never a peer. */
  readonly ownAddresses?: readonly string[] | undefined;
}

/** PeerPolicy decides whether a peer address may be relayed to. Pure and synchronous. */
export interface PeerPolicy {
  /** Checks a peer address given as text (IPv4 or IPv6). Unparsable text is denied. */
  check(address: string): PeerDecision;
  /**
   * Adds an address of the server itself, e.g. a relay address learnt after binding.
   * @throws InvalidOptionError if the text is not an IP address.
   */
  addOwnAddress(address: string): void;
}

const ALLOWED: PeerDecision = { allowed: true };

interface PolicyState {
  readonly allowed: readonly IpRange[];
  readonly denied: readonly IpRange[];
  readonly own: Uint8Array[];
  readonly allowLoopback: boolean;
}

/**
 * Creates a peer policy. Every address is first normalised: an IPv4-mapped address is its IPv4
 * address; an IPv6 address embedding IPv4 (compatible, 6to4, NAT64, Teredo) is checked both as
 * itself and through every embedded IPv4 address, and is denied if any of them is denied. Each
 * address is decided in this order:
 *
 * 0. one of the server's own addresses that `allowedPeerIps` covers only through a wider range
 *    → denied with `ownAddress` (allowing a subnet must not expose the server's own ports);
 * 1. in `allowedPeerIps` → allowed (coturn semantics: an allowed range overrides denied ones;
 *    an allowed match on the outer IPv6 address allows the whole address);
 * 2. in `deniedPeerIps` → denied;
 * 3. one of the server's own addresses → denied with `ownAddress` (loopback ones are not own when
 *    loopback peers are allowed, so local tests can use them as ordinary peers);
 * 4. in a special-purpose range (IANA registries, multicast, reserved IPv6 space) → denied;
 *    loopback only unless `allowLoopbackPeers`;
 * 5. otherwise allowed.
 *
 * @throws InvalidOptionError for an invalid range in `allowedPeerIps` / `deniedPeerIps` or an
 *   invalid address in `ownAddresses`.
 * @example
 * const policy = createPeerPolicy({ deniedPeerIps: ['203.0.114.0/24'] });
 * policy.check('::ffff:127.0.0.1'); // { allowed: false, reason: 'loopback 127.0.0.0/8' }
 */
export function createPeerPolicy(options: PeerPolicyConfig = {}): PeerPolicy {
  const state: PolicyState = {
    allowed: (options.allowedPeerIps ?? []).map((t, i) => parseIpRange(t, `allowedPeerIps[${i}]`)),
    denied: (options.deniedPeerIps ?? []).map((t, i) => parseIpRange(t, `deniedPeerIps[${i}]`)),
    own: [],
    allowLoopback: options.allowLoopbackPeers ?? false,
  };
  const addOwnAddress = (address: string): void => {
    const bytes = parseIp(address);
    if (bytes === undefined) {
      throw new InvalidOptionError('ownAddresses', `'${address}' is not an ip address`);
    }
    state.own.push(unmapIpv4(bytes));
  };
  (options.ownAddresses ?? []).forEach(addOwnAddress);
  return {
    check: (address) => checkAddress(state, address),
    addOwnAddress,
  };
}

function checkAddress(state: PolicyState, text: string): PeerDecision {
  const parsed = parseIp(text);
  if (parsed === undefined) {
    return { allowed: false, reason: 'not an ip address' };
  }
  const outer = unmapIpv4(parsed);
  if (isIn(state.allowed, outer) && !isOwnInBroadAllow(state, outer)) {
    return ALLOWED;
  }
  const outerDecision = decideOne(state, outer);
  if (!outerDecision.allowed) {
    return outerDecision;
  }
  for (const embedded of extractEmbeddedIpv4(outer)) {
    const decision = decideOne(state, embedded.address);
    if (!decision.allowed) {
      const via = `${embedded.form} ${formatIp(embedded.address)} in ${formatIp(outer)}`;
      // Only the address itself can be another relay of this server, never an embedding of it.
      return { allowed: false, reason: `${decision.reason} (${via})` };
    }
  }
  return ALLOWED;
}

/** Decides one address on its own, without looking inside it (steps 1-5). */
function decideOne(state: PolicyState, bytes: Uint8Array): PeerDecision {
  if (isOwnInBroadAllow(state, bytes)) {
    return OWN;
  }
  if (isIn(state.allowed, bytes)) {
    return ALLOWED;
  }
  const denied = state.denied.find((range) => rangeContains(range, bytes));
  if (denied !== undefined) {
    return { allowed: false, reason: `denied-peer-ip ${denied.text}` };
  }
  const special = findSpecialRange(bytes);
  if (isOwn(state, bytes, special)) {
    return OWN;
  }
  if (
    special === undefined ||
    special.kind === SpecialRangeKind.EmbedsIpv4 ||
    (special.kind === SpecialRangeKind.Loopback && state.allowLoopback)
  ) {
    return ALLOWED;
  }
  return { allowed: false, reason: `${special.name} ${special.cidr}` };
}

const OWN: PeerDecision = { allowed: false, reason: "server's own address", ownAddress: true };

/** One of the server's own addresses (loopback ones are not own while loopback peers are allowed). */
function isOwn(state: PolicyState, bytes: Uint8Array, special = findSpecialRange(bytes)): boolean {
  const loopbackAllowed = special?.kind === SpecialRangeKind.Loopback && state.allowLoopback;
  return (
    !loopbackAllowed &&
    state.own.some((own) => own.length === bytes.length && compareIp(own, bytes) === 0)
  );
}

/**
 * An own address that `allowedPeerIps` covers only through a wider range: a subnet allowed for
 * its peers (`10.0.0.0/8`) must not open the server's own listeners, API and metrics to the
 * relay. Only an allow of exactly that address (`10.0.0.5`, `/32`, `/128`) lets it through.
 */
function isOwnInBroadAllow(state: PolicyState, bytes: Uint8Array): boolean {
  if (!isOwn(state, bytes)) return false;
  const exact = (range: IpRange): boolean =>
    range.prefixLength === bytes.length * 8 && rangeContains(range, bytes);
  return !state.allowed.some(exact);
}

function isIn(ranges: readonly IpRange[], bytes: Uint8Array): boolean {
  return ranges.some((range) => rangeContains(range, bytes));
}
