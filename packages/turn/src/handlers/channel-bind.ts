/**
 * ChannelBind requests. RFC 8656 §12.2 (receiving a ChannelBind request).
 * @module
 */
import {
  MAX_LEGACY_CHANNEL_NUMBER,
  MIN_CHANNEL_NUMBER,
  channelNumber as channelNumberAttr,
  xorPeerAddress,
} from '@cloudproxy/stun';
import type { Allocation } from '../allocation.js';
import type { CoreState } from '../core-state.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { RequestContext, ResponseSigner } from '../request-context.js';
import type { TransportAddress } from '@cloudproxy/stun';
import { authenticateRequest } from './authenticate.js';
import { checkPeer } from './peer-checks.js';

/**
 * Step 1: CHANNEL-NUMBER and XOR-PEER-ADDRESS present (400). RFC 8656 §12 narrowed channels to
 * 0x4000-0x4FFF, but RFC 5766 clients (coturn's turnutils_uclient among them) still pick
 * numbers up to 0x7FFF, which never collide with STUN; they are accepted as coturn does.
 */
function channelRequest(
  ctx: RequestContext,
  auth: ResponseSigner,
): { channelNumber: number; peer: TransportAddress } | undefined {
  const channelNumber = ctx.msg.get(channelNumberAttr);
  const peer = ctx.msg.get(xorPeerAddress);
  if (channelNumber === undefined || peer === undefined) {
    ctx.reject(400, 'missing CHANNEL-NUMBER or XOR-PEER-ADDRESS', { signer: auth });
    return undefined;
  }
  if (channelNumber < MIN_CHANNEL_NUMBER || channelNumber > MAX_LEGACY_CHANNEL_NUMBER) {
    const text = `channel number 0x${channelNumber.toString(16)} out of range 0x4000..0x7fff`;
    ctx.reject(400, text, { signer: auth });
    return undefined;
  }
  return { channelNumber, peer };
}

/** Which per-allocation quota a new binding to `ip` would pass, if any (expired entries swept first). */
function quotaReached(
  allocation: Allocation,
  ip: string,
  state: CoreState,
  nowMs: number,
): 'channel' | 'permission' | undefined {
  const { channelQuota, permissionQuota } = state.services.options;
  const over = (): 'channel' | 'permission' | undefined => {
    if (channelQuota > 0 && allocation.channels.size >= channelQuota) return 'channel';
    const newPermission = !allocation.permissions.has(ip);
    if (permissionQuota > 0 && newPermission && allocation.permissions.size >= permissionQuota)
      return 'permission';
    return undefined;
  };
  if (over() === undefined) return undefined;
  allocation.sweep(nowMs);
  return over();
}

/** Handles ChannelBind: binds (or refreshes) a channel to a peer and refreshes its permission. */
export function handleChannelBind(
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
  const request = channelRequest(ctx, auth);
  if (!request) return;
  const { channelNumber, peer } = request;
  const checked = checkPeer(ctx, state, allocation, peer, auth);
  if (!checked) return;
  // 2. The channel must not be bound to another peer, nor the peer to another channel (400).
  const byNumber = allocation.channels.get(channelNumber);
  const byPeer = allocation.channelsByPeer.get(peer.address)?.get(peer.port);
  const sameBinding = byNumber !== undefined && byNumber === byPeer;
  if ((byNumber || byPeer) && !sameBinding) {
    ctx.reject(400, 'channel or peer already bound differently', { signer: auth });
    return;
  }
  // The allocation's channels and permissions are bounded (--channel-quota, --permission-quota):
  // past them, 508 Insufficient Capacity (RFC 8656 §12.2).
  const full = byNumber ? undefined : quotaReached(allocation, peer.address, state, nowMs);
  if (full) {
    ctx.reject(508, `${full} quota of this allocation reached`, { signer: auth });
    return;
  }
  // 3. Bind or refresh for 10 minutes and refresh the peer's permission (RFC 8656 §12.2).
  const { channelLifetimeS, permissionLifetimeS } = state.services.options;
  const permission = allocation.installPermission(
    peer.address,
    nowMs + permissionLifetimeS * 1000,
    checked.own,
  );
  const expiresAtMs = nowMs + channelLifetimeS * 1000;
  if (byNumber) byNumber.expiresAtMs = expiresAtMs;
  else {
    const relay = allocation.relayFor(peer.family);
    if (!relay) return; // unreachable: checkPeer verified the family
    allocation.addChannel({ channelNumber, peer, relay, allocation, expiresAtMs });
  }
  state.noteDeadline(permission.expiresAtMs);
  ctx.succeed([], auth);
}
