/**
 * Refresh requests. RFC 8656 §8.2 (receiving a Refresh request).
 * @module
 */
import { AddressFamily, attr, lifetime, requestedAddressFamily } from '@cloudproxy/stun';
import type { CoreState } from '../core-state.js';
import { grantLifetimeS } from '../lifetime.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { RequestContext } from '../request-context.js';
import { authenticateRequest } from './authenticate.js';

/** 4 or 6 for a REQUESTED-ADDRESS-FAMILY value, null for an unknown one. */
function familyOf(value: number): 4 | 6 | null {
  if (value === AddressFamily.IPv4) return 4;
  if (value === AddressFamily.IPv6) return 6;
  return null;
}

/** Handles a Refresh request: extends, or with LIFETIME 0 deletes, the allocation. */
export function handleRefresh(ctx: RequestContext, state: CoreState, limiter: RateLimiter): void {
  const { msg, client, nowMs } = ctx;
  const allocation = state.liveAllocation(client.key, nowMs);
  // 1. Authenticate with the allocation's credentials (401/438/441).
  const auth = authenticateRequest(ctx, state, limiter, allocation);
  if (!auth) return;
  if (msg.unknownRequired.length > 0) {
    ctx.rejectUnknown(msg.unknownRequired, auth);
    return;
  }
  // 2. No allocation on this 5-tuple: 437.
  if (!allocation) {
    ctx.reject(437, 'no allocation for this 5-tuple', { signer: auth });
    return;
  }
  // 3. REQUESTED-ADDRESS-FAMILY names a family (440 otherwise) of the allocation (443 otherwise).
  const familyValue = msg.get(requestedAddressFamily);
  const family = familyValue === undefined ? undefined : familyOf(familyValue);
  if (family === null) {
    ctx.reject(440, `unknown address family ${String(familyValue)}`, { signer: auth });
    return;
  }
  if (family !== undefined && !allocation.relayFor(family)) {
    ctx.reject(443, `allocation has no relay of family ${family}`, { signer: auth });
    return;
  }
  const requested = msg.get(lifetime);
  // 4. LIFETIME 0 deletes the allocation; the response carries LIFETIME 0. With
  //    REQUESTED-ADDRESS-FAMILY on a dual allocation only that family's relay goes (RFC 8656 §8).
  if (requested === 0) {
    if (family !== undefined && allocation.relays.length > 1) {
      state.deleteRelay(allocation, family, ctx.out);
    } else {
      state.deleteAllocation(allocation, 'refresh-zero', nowMs, ctx.out);
    }
    ctx.succeed([attr(lifetime, 0)], auth);
    return;
  }
  // 5. Otherwise the lifetime is computed as for Allocate and the timer restarted.
  const lifetimeS = grantLifetimeS(requested, state.services.options);
  allocation.expiresAtMs = nowMs + lifetimeS * 1000;
  state.noteDeadline(allocation.expiresAtMs);
  ctx.succeed([attr(lifetime, lifetimeS)], auth);
}
