/**
 * The authentication step shared by every TURN request. RFC 8489 §9.2.4, RFC 8656 §5.
 * @module
 */
import type { Allocation } from '../allocation.js';
import type { AuthSuccess } from '../auth.js';
import type { CoreState } from '../core-state.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { RequestContext } from '../request-context.js';
import { countKey } from '../stats.js';

/**
 * Authenticates the request; on failure answers it (400/401/438, rate-limited per source IP) and
 * returns undefined. `allocation`, when given, must have been created with the same username, else 441.
 */
export function authenticateRequest(
  ctx: RequestContext,
  state: CoreState,
  limiter: RateLimiter,
  allocation?: Allocation,
): AuthSuccess | undefined {
  const result = state.auth.authenticate(
    ctx.msg,
    ctx.client.remote.address,
    state.services.nonces,
    ctx.nowMs,
  );
  if (!result.ok) {
    if (result.credentialed) {
      state.services.stats.authFailures++;
      ctx.out.push({
        type: 'emit',
        event: { type: 'auth.failed', client: ctx.client, cause: result.cause },
      });
    }
    const limited = result.code !== 400 && ctx.client.transport === 'udp';
    if (limited && !limiter.take(ctx.client.remote.address, ctx.nowMs)) {
      countKey(state.services.stats.ignored, 'rate-limited');
      ctx.out.push({ type: 'ignore', reason: 'rate-limited' });
      return undefined;
    }
    ctx.reject(result.code, result.cause);
    return undefined;
  }
  // RFC 8656 §5: requests on an allocation must use the credentials that created it (441).
  if (allocation && allocation.username !== result.username) {
    state.services.stats.authFailures++;
    ctx.reject(441, 'username differs from the allocation', { signer: result });
    return undefined;
  }
  ctx.signer = result;
  return result;
}
