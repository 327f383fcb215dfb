/**
 * Checks of an XOR-PEER-ADDRESS shared by CreatePermission and ChannelBind: address family
 * (RFC 8656 §10.2 / §12.2: 443) and the server's peer policy (403).
 * @module
 */
import type { TransportAddress } from '@cloudproxy/stun';
import type { Allocation } from '../allocation.js';
import type { CoreState } from '../core-state.js';
import type { RequestContext, ResponseSigner } from '../request-context.js';

/** Answers 443 or 403 and returns false when `peer` may not be used on `allocation`. */
export function checkPeer(
  ctx: RequestContext,
  state: CoreState,
  allocation: Allocation,
  peer: TransportAddress,
  signer: ResponseSigner,
  checkPort: boolean,
): boolean {
  if (!allocation.relayFor(peer.family)) {
    ctx.reject(443, `peer ${peer.address} does not match the relay's address family`, { signer });
    return false;
  }
  // The server's own addresses are another relay of this server when the port is a relay port
  // (two clients of one server talking, the commonest relay-to-relay path), whatever range the
  // address is in (a private or documentation address on a lab network); anything else on them
  // (listeners, metrics, local services) is refused.
  if (isOwnAddress(state, peer.address)) {
    if (!checkPort || inRelayPorts(state, peer.port)) return true;
    const reason = `peer ${peer.address}:${peer.port} is the server itself outside the relay ports`;
    ctx.reject(403, reason, { signer });
    return false;
  }
  const decision = state.peerPolicy.check(peer.address);
  if (!decision.allowed) {
    ctx.reject(403, `peer ${peer.address} denied: ${decision.reason}`, { signer });
    return false;
  }
  return true;
}

/**
 * Whether `address` is one of the server's own listening or relay addresses, to be reached on
 * relay ports only. Loopback addresses are exempt when loopback peers are allowed (tests).
 */
export function isOwnAddress(state: CoreState, address: string): boolean {
  if (!state.ownAddresses.has(address)) return false;
  const loopback = address.startsWith('127.') || address === '::1';
  return !(loopback && state.services.options.peerPolicy.allowLoopbackPeers);
}

/** Whether `port` is in the relay port range (another allocation's relay). */
export function inRelayPorts(state: CoreState, port: number): boolean {
  return port >= state.relayPorts.min && port <= state.relayPorts.max;
}
