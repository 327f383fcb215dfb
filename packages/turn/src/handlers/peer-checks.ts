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
 * is in; anything else on them (listeners, metrics, local services) is refused. Without a port
 * (`checkPort` false, CreatePermission) the caller restricts the permission to relay ports.
 */
export function checkPeer(
  ctx: RequestContext,
  state: CoreState,
  allocation: Allocation,
  peer: TransportAddress,
  signer: ResponseSigner,
  checkPort: boolean,
): AcceptedPeer | undefined {
  if (!allocation.relayFor(peer.family)) {
    ctx.reject(443, `peer ${peer.address} does not match the relay's address family`, { signer });
    return undefined;
  }
  const decision = state.peerPolicy.check(peer.address);
  if (decision.allowed) return { own: false };
  if (decision.ownAddress && (!checkPort || inRelayPorts(state, peer.port))) return { own: true };
  const reason = decision.ownAddress
    ? `peer ${peer.address}:${peer.port} is the server itself outside the relay ports`
    : `peer ${peer.address} denied: ${decision.reason}`;
  ctx.reject(403, reason, { signer });
  return undefined;
}

/** Whether `port` is in the relay port range (another allocation's relay). */
export function inRelayPorts(state: CoreState, port: number): boolean {
  return port >= state.relayPorts.min && port <= state.relayPorts.max;
}
