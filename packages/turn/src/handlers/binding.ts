/**
 * Binding requests: answer with the client's reflexive address. RFC 8489 §6.3.1, §14.2.
 * @module
 */
import { attr, xorMappedAddress } from '@cloudproxy/stun';
import type { RequestContext } from '../request-context.js';

/** Handles a Binding request on any listener; no authentication (RFC 8489 §9: STUN servers MAY skip). */
export function handleBinding(ctx: RequestContext): void {
  // RFC 8489 §6.3.1: unknown comprehension-required attributes → 420.
  if (ctx.msg.unknownRequired.length > 0) {
    ctx.rejectUnknown(ctx.msg.unknownRequired);
    return;
  }
  ctx.succeed([attr(xorMappedAddress, ctx.client.remote)]);
}
