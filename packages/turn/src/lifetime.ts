/**
 * Lifetime arithmetic of allocations. RFC 8656 §7.2 (Allocate) and §8.2 (Refresh).
 * @module
 */

/**
 * The lifetime granted for a requested one: min(requested, max), but never below the default.
 * RFC 8656 §7.2: "If this computed value is greater than the default lifetime, then the server
 * uses the computed lifetime ... Otherwise, the server uses the default lifetime."
 */
export function grantLifetimeS(
  requestedS: number | undefined,
  limits: { defaultLifetimeS: number; maxLifetimeS: number },
): number {
  if (requestedS === undefined) return limits.defaultLifetimeS;
  const capped = Math.min(requestedS, limits.maxLifetimeS);
  return capped > limits.defaultLifetimeS ? capped : limits.defaultLifetimeS;
}
