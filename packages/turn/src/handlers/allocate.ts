/**
 * Allocate requests. RFC 8656 §7.2 (receiving an Allocate request), RFC 8656 §7.2 dual allocation
 * (ADDITIONAL-ADDRESS-FAMILY), RFC 6156.
 * @module
 */
import {
  AddressFamily,
  AttrType,
  alternateServer,
  attr,
  TransportProtocol,
  additionalAddressFamily,
  evenPort,
  lifetime,
  requestedAddressFamily,
  requestedTransport,
  reservationToken,
} from '@cloudproxy/stun';
import type { AuthSuccess } from '../auth.js';
import type { CoreState } from '../core-state.js';
import { grantLifetimeS } from '../lifetime.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { RequestContext } from '../request-context.js';
import { completeAllocation } from './allocate-complete.js';
import { authenticateRequest } from './authenticate.js';
import { toHex } from '../hex.js';
import { lowerCap } from '../hooks.js';
import type { Admission } from '../hooks.js';

type Families =
  { first: 4 | 6; additional: 4 | 6 | undefined } | { error: 400 | 440; cause: string };

/** Handles an Allocate request, step by step as RFC 8656 §7.2 lists them. */
export function handleAllocate(ctx: RequestContext, state: CoreState, limiter: RateLimiter): void {
  const { msg, client, nowMs } = ctx;
  if (answeredAsRetransmission(ctx, state)) return;
  // 1. Long-term authentication.
  const auth = authenticateRequest(ctx, state, limiter);
  if (!auth) return;
  // 2. The 5-tuple must not already have an allocation (437). One that expired but was not yet
  //    swept is released first, so its relays and quota are not leaked.
  const existing = state.allocations.get(client.key);
  if (existing && existing.expiresAtMs <= nowMs) {
    state.deleteAllocation(existing, 'expired', nowMs, ctx.out);
  }
  if (state.liveAllocation(client.key, nowMs) || state.pending.has(client.key)) {
    ctx.reject(437, '5-tuple already has an allocation', { signer: auth });
    return;
  }
  if (redirected(ctx, state, auth)) return;
  if (state.draining) {
    ctx.reject(508, 'server is draining', { signer: auth });
    return;
  }
  if (!checkAttributes(ctx, auth)) return;
  const families = requestedFamilies(ctx);
  if ('error' in families) {
    ctx.reject(families.error, families.cause, { signer: auth });
    return;
  }
  if (!checkQuota(ctx, state, auth)) return;
  const admission = admit(ctx, state, auth);
  if (admission === false) return;
  const lifetimeS = grantLifetimeS(msg.get(lifetime), state.services.options);
  const token = msg.get(reservationToken);
  if (token) {
    claimReservation(ctx, state, { auth, admission }, token, lifetimeS);
    return;
  }
  const reserve = msg.get(evenPort);
  const requestId = state.newRequestId();
  const entry = {
    requestId,
    client,
    auth,
    request: new Uint8Array(msg.raw), // a copy (Buffer.slice would be a view)
    transactionKey: msg.transactionKey,
    lifetimeS,
    admission,
  };
  state.pending.set(client.key, entry);
  state.pendingById.set(requestId, entry);
  ctx.out.push({
    type: 'open-relay',
    client,
    request: {
      requestId,
      families: families.additional ? [families.first, families.additional] : [families.first],
      evenPort: reserve !== undefined,
      reserveNextPort: reserve === true,
    },
  });
}

/**
 * Retransmissions of an Allocate: the one that created the allocation gets the same success
 * again, one still waiting for its relay is ignored. Clients that lose the first response (UDP)
 * retransmit with the same transaction ID and must get the same relayed address, not a 437
 * (RFC 8656 §7.2, "retransmissions").
 */
function answeredAsRetransmission(ctx: RequestContext, state: CoreState): boolean {
  const { msg, client, nowMs } = ctx;
  const existing = state.allocations.get(client.key);
  if (
    existing?.allocateTransactionKey === msg.transactionKey &&
    nowMs - existing.createdAtMs < state.services.options.allocateCacheMs
  ) {
    ctx.send(existing.allocateResponse);
    return true;
  }
  if (state.pending.get(client.key)?.transactionKey === msg.transactionKey) {
    ctx.out.push({ type: 'ignore', reason: 'allocate-pending' });
    return true;
  }
  return false;
}

/**
 * A full or draining node sends the client elsewhere: 300 Try Alternate with ALTERNATE-SERVER,
 * signed like any answer to an authenticated request (RFC 8489 §10 and §14.15, RFC 8656 §7.2).
 */
function redirected(ctx: RequestContext, state: CoreState, auth: AuthSuccess): boolean {
  const { client } = ctx;
  const alternate = state.hooks.alternate?.({
    username: auth.username,
    transport: client.transport,
    clientAddress: client.remote.address,
    clientPort: client.remote.port,
  });
  if (!alternate) return false;
  ctx.reject(300, `redirected to ${alternate.address}:${alternate.port}`, {
    signer: auth,
    extra: [attr(alternateServer, alternate)],
  });
  return true;
}

/** Steps 3-5: unknown attributes, REQUESTED-TRANSPORT, DONT-FRAGMENT, token/EVEN-PORT conflicts. */
function checkAttributes(ctx: RequestContext, auth: AuthSuccess): boolean {
  const { msg } = ctx;
  // RFC 8656 §7.2: a server that cannot set DF treats DONT-FRAGMENT as an unknown
  // comprehension-required attribute (Node's sockets cannot set DF per datagram).
  const unknown = msg.has(AttrType.DontFragment)
    ? [...msg.unknownRequired, AttrType.DontFragment]
    : msg.unknownRequired;
  if (unknown.length > 0) {
    ctx.rejectUnknown(unknown, auth);
    return false;
  }
  const transport = msg.get(requestedTransport);
  if (transport === undefined) {
    ctx.reject(400, 'missing REQUESTED-TRANSPORT', { signer: auth });
    return false;
  }
  if (transport !== TransportProtocol.Udp) {
    ctx.reject(442, `requested transport ${transport} is not UDP`, { signer: auth });
    return false;
  }
  // A RESERVATION-TOKEN excludes EVEN-PORT and address-family attributes (RFC 8656 §7.2).
  if (
    msg.has(AttrType.ReservationToken) &&
    (msg.has(AttrType.EvenPort) ||
      msg.has(AttrType.RequestedAddressFamily) ||
      msg.has(AttrType.AdditionalAddressFamily))
  ) {
    ctx.reject(400, 'RESERVATION-TOKEN with EVEN-PORT or an address family', { signer: auth });
    return false;
  }
  // RFC 8656 §7.2: EVEN-PORT with R=1 (reserve the next port) excludes a dual allocation.
  if (msg.get(evenPort) === true && msg.has(AttrType.AdditionalAddressFamily)) {
    ctx.reject(400, 'EVEN-PORT R=1 with ADDITIONAL-ADDRESS-FAMILY', { signer: auth });
    return false;
  }
  return true;
}

/** REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §7.2; IPv4 by default, RFC 6156). */
function requestedFamilies(ctx: RequestContext): Families {
  const requested = ctx.msg.get(requestedAddressFamily);
  const additional = ctx.msg.get(additionalAddressFamily);
  if (requested !== undefined && additional !== undefined) {
    return { error: 400, cause: 'both REQUESTED- and ADDITIONAL-ADDRESS-FAMILY' };
  }
  if (additional !== undefined) {
    if (additional !== AddressFamily.IPv6) {
      return { error: 400, cause: `ADDITIONAL-ADDRESS-FAMILY ${additional} is not IPv6` };
    }
    return { first: 4, additional: 6 };
  }
  if (requested === undefined || requested === AddressFamily.IPv4) {
    return { first: 4, additional: undefined };
  }
  if (requested === AddressFamily.IPv6) return { first: 6, additional: undefined };
  return { error: 440, cause: `unknown address family ${requested}` };
}

/** Per-user, per-source-address and total allocation quotas (486). */
function checkQuota(ctx: RequestContext, state: CoreState, auth: AuthSuccess): boolean {
  const { userQuota, totalQuota, sourceQuota } = state.services.options;
  if (userQuota > 0 && state.userCount(auth.quotaUser) >= userQuota) {
    ctx.reject(486, `user quota of ${userQuota} allocations reached`, { signer: auth });
    return false;
  }
  if (sourceQuota > 0 && state.sourceCount(ctx.client.remote.address) >= sourceQuota) {
    ctx.reject(486, `source quota of ${sourceQuota} allocations reached`, { signer: auth });
    return false;
  }
  if (totalQuota > 0 && state.allocationCount >= totalQuota) {
    ctx.reject(486, `total quota of ${totalQuota} allocations reached`, { signer: auth });
    return false;
  }
  return true;
}

/**
 * The control plane's admission (quotas, revocations, bandwidth caps): the admission to carry,
 * undefined when no hook is installed, or false when refused (already answered).
 */
function admit(
  ctx: RequestContext,
  state: CoreState,
  auth: AuthSuccess,
): Admission | undefined | false {
  const { hooks } = state;
  if (!hooks.admit) return undefined;
  const { client } = ctx;
  const request = {
    username: auth.username,
    transport: client.transport,
    clientAddress: client.remote.address,
    clientPort: client.remote.port,
  };
  const decision = hooks.admit(request);
  if (!decision.allow) {
    ctx.reject(decision.code, decision.reason, { signer: auth });
    return false;
  }
  return { request, maxBps: lowerCap(state.services.options.maxBps, decision.maxBps) };
}

/** Uses the relay port reserved by an earlier EVEN-PORT R=1 (508 when unknown). RFC 8656 §7.2. */
function claimReservation(
  ctx: RequestContext,
  state: CoreState,
  { auth, admission }: { auth: AuthSuccess; admission: Admission | undefined },
  token: Uint8Array,
  lifetimeS: number,
): void {
  const key = toHex(token);
  const reservation = state.reservations.get(key);
  if (!reservation || reservation.expiresAtMs <= ctx.nowMs) {
    state.release(admission);
    ctx.reject(508, 'unknown or expired reservation token', { signer: auth });
    return;
  }
  state.reservations.delete(key);
  completeAllocation(state, {
    ctx,
    auth,
    admission,
    lifetimeS,
    relays: [reservation.relay],
    failedFamilies: [],
    reserved: undefined,
  });
}
