/**
 * Checks of an XOR-PEER-ADDRESS shared by CreatePermission and ChannelBind: address family
 * (RFC 8656 §10.2 / §12.2: 443) and the server's peer policy (403).
 * @module
 */
import type { TransportAddress } from '@cloudproxy/stun';
import type { Allocation } from '../allocation.js';
import type { CoreState } from '../core-state.js';
import type { RequestContext, ResponseSigner } from '../request-context.js';

/** A peer that passed the checks; `own` when it is another relay of this server. */
export interface AcceptedPeer {
  readonly own: boolean;
}

/**
 * Answers 443 or 403 and returns undefined when `peer` may not be used on `allocation`. The
 * server's own addresses are another relay of this server when the port is a relay port (two
 * clients of one server talking, the commonest relay-to-relay path), whatever range the address
 * is in; anything else on them (listeners, metrics, local services) is refused. A permission is
 * for an IP address (RFC 8656 §9), but the XOR-PEER-ADDRESS of a CreatePermission carries the
 * peer's port too (browsers send the candidate's): for an own address it must be a live relay
 * port, and the permission still reaches relay ports only.
 */
export function checkPeer(
  ctx: RequestContext,
  state: CoreState,
  allocation: Allocation,
  peer: TransportAddress,
  signer: ResponseSigner,
): AcceptedPeer | undefined {
  if (!allocation.relayFor(peer.family)) {
    ctx.reject(443, `peer ${peer.address} does not match the relay's address family`, { signer });
    return undefined;
  }
  const decision = state.peerPolicy.check(peer.address);
  if (decision.allowed) return { own: false };
  if (decision.ownAddress && inRelayPorts(state, peer.port)) return { own: true };
  const reason = decision.ownAddress
    ? `peer ${peer.address}:${peer.port} is the server itself outside the relay ports`
    : `peer ${peer.address} denied: ${decision.reason}`;
  ctx.reject(403, reason, { signer });
  return undefined;
}

/** Whether `port` is a live relay socket of this server (another allocation's relay). */
export function inRelayPorts(state: CoreState, port: number): boolean {
  return state.isLiveRelayPort(port);
}
