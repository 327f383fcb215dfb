/**
 * CreatePermission requests. RFC 8656 §10.2 (receiving a CreatePermission request).
 * @module
 */
import { xorPeerAddress } from '@cloudproxy/stun';
import type { Allocation } from '../allocation.js';
import type { CoreState } from '../core-state.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { RequestContext } from '../request-context.js';
import { authenticateRequest } from './authenticate.js';
import { checkPeer } from './peer-checks.js';

/** Whether installing `peers` keeps the allocation within `quota` permissions (0 = unlimited). */
function hasRoom(
  allocation: Allocation,
  peers: readonly { address: string }[],
  quota: number,
  nowMs: number,
): boolean {
  if (quota === 0) return true;
  const added = (): number =>
    new Set(peers.map((p) => p.address).filter((a) => !allocation.permissions.has(a))).size;
  if (allocation.permissions.size + added() <= quota) return true;
  allocation.sweep(nowMs);
  return allocation.permissions.size + added() <= quota;
}

/** Handles CreatePermission: installs or refreshes a permission per XOR-PEER-ADDRESS, all or none. */
export function handleCreatePermission(
  ctx: RequestContext,
  state: CoreState,
  limiter: RateLimiter,
): void {
  const { msg, client, nowMs } = ctx;
  const allocation = state.liveAllocation(client.key, nowMs);
  const auth = authenticateRequest(ctx, state, limiter, allocation);
  if (!auth) return;
  if (msg.unknownRequired.length > 0) {
    ctx.rejectUnknown(msg.unknownRequired, auth);
    return;
  }
  if (!allocation) {
    ctx.reject(437, 'no allocation for this 5-tuple', { signer: auth });
    return;
  }
  // 1. At least one XOR-PEER-ADDRESS (400).
  const peers = msg.getAll(xorPeerAddress);
  if (peers.length === 0) {
    ctx.reject(400, 'missing XOR-PEER-ADDRESS', { signer: auth });
    return;
  }
  // 2. Every peer must pass the family (443) and policy (403) checks before any is installed.
  const accepted: { address: string; own: boolean }[] = [];
  for (const peer of peers) {
    const checked = checkPeer(ctx, state, allocation, peer, auth);
    if (!checked) return;
    accepted.push({ address: peer.address, own: checked.own });
  }
  // The allocation's permissions are bounded (--permission-quota): past it, 508 Insufficient
  // Capacity (RFC 8656 §10.2 lets the server refuse for lack of resources).
  if (!hasRoom(allocation, accepted, state.services.options.permissionQuota, nowMs)) {
    ctx.reject(508, 'permission quota of this allocation reached', { signer: auth });
    return;
  }
  // 3. Install or refresh each permission for the permission lifetime (300 s, RFC 8656 §9); one
  //    to the server's own address reaches its relay ports only.
  const expiresAtMs = nowMs + state.services.options.permissionLifetimeS * 1000;
  for (const { address, own } of accepted) allocation.installPermission(address, expiresAtMs, own);
  state.noteDeadline(expiresAtMs);
  ctx.succeed([], auth);
}
