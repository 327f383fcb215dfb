/**
 * Finishing an Allocate once its relay sockets are bound: the success response and the
 * allocation itself. RFC 8656 §7.2 (the success response), §7.2 dual allocation.
 * @module
 */
import {
  AddressFamily,
  ERROR_REASONS,
  attr,
  addressErrorCode,
  lifetime,
  reservationToken,
  xorMappedAddress,
  xorRelayedAddress,
} from '@cloudproxy/stun';
import type { AttributeEntry } from '@cloudproxy/stun';
import { Allocation } from '../allocation.js';
import type { AuthSuccess } from '../auth.js';
import type { Admission } from '../hooks.js';
import { RESERVATION_LIFETIME_MS } from '../core-state.js';
import type { CoreState } from '../core-state.js';
import type { RequestContext } from '../request-context.js';
import type { RelayBinding } from '../types.js';
import { toHex } from '../hex.js';

/** Everything needed to finish an Allocate. */
export interface AllocationResult {
  readonly ctx: RequestContext;
  readonly auth: AuthSuccess;
  readonly admission: Admission | undefined;
  readonly lifetimeS: number;
  readonly relays: readonly RelayBinding[];
  /** Families of a dual allocation that could not be served (ADDRESS-ERROR-CODE 440). */
  readonly failedFamilies: readonly (4 | 6)[];
  /** The port+1 socket reserved for EVEN-PORT R=1. */
  readonly reserved: RelayBinding | undefined;
}

const TOKEN_BYTES = 8;

/** Creates the allocation and sends its success response (RFC 8656 §7.2, last steps). */
export function completeAllocation(state: CoreState, result: AllocationResult): void {
  const { ctx, auth, lifetimeS, relays } = result;
  const attributes: AttributeEntry[] = relays.map((r) => attr(xorRelayedAddress, r.advertised));
  attributes.push(attr(lifetime, lifetimeS));
  if (result.reserved) {
    const token = globalThis.crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
    const expiresAtMs = ctx.nowMs + RESERVATION_LIFETIME_MS;
    state.reservations.set(toHex(token), { relay: result.reserved, expiresAtMs });
    state.noteDeadline(expiresAtMs);
    attributes.push(attr(reservationToken, token));
  }
  attributes.push(attr(xorMappedAddress, ctx.client.remote));
  for (const family of result.failedFamilies) {
    attributes.push(
      attr(addressErrorCode, {
        family: family === 4 ? AddressFamily.IPv4 : AddressFamily.IPv6,
        code: 440,
        reason: ERROR_REASONS[440],
      }),
    );
  }
  const response = ctx.successBytes(attributes, auth);
  // Names shared with the user's other allocations (a static user's name is also its quota user).
  const quotaUser = state.userName(auth.quotaUser);
  const allocation = new Allocation({
    client: ctx.client,
    username: auth.username === quotaUser ? quotaUser : auth.username,
    quotaUser,
    nowMs: ctx.nowMs,
    lifetimeS,
    relays,
    allocateResponse: response,
    admission: result.admission,
    maxBps: result.admission?.maxBps ?? state.services.options.maxBps,
  });
  state.addAllocation(allocation);
  ctx.send(response);
  ctx.out.push({
    type: 'emit',
    event: {
      type: 'allocation.created',
      client: ctx.client,
      username: auth.username,
      relays: relays.map((r) => r.advertised),
      lifetimeS,
    },
  });
}
