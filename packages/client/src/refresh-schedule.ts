/**
 * When to refresh credentials: well before they expire, so that a call never runs on expired
 * credentials, and with a bounded number of retries when a refresh fails.
 * @module
 */
import type { Credentials } from './credentials.js';

/** Refresh once this fraction of the credential lifetime has passed. */
export const REFRESH_AT_FRACTION = 0.8;
/** Never refresh sooner than this after obtaining credentials (short TTLs in tests). */
export const MIN_REFRESH_DELAY_MS = 1000;
/** Delays between attempts after a failed refresh; after the last one the client gives up. */
export const REFRESH_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 5000, 10_000];
/** The longest delay `setTimeout` accepts (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * Milliseconds from `nowMs` until `credentials` should be refreshed: at
 * {@link REFRESH_AT_FRACTION} of their lifetime, at least {@link MIN_REFRESH_DELAY_MS} from
 * now; undefined when they never expire.
 *
 * @example
 * refreshDelayMs({ servers, obtainedAtMs: 0, expiresAtMs: 3_600_000 }, 0); // 2_880_000
 */
export function refreshDelayMs(credentials: Credentials, nowMs: number): number | undefined {
  if (credentials.expiresAtMs === undefined) return undefined;
  const lifetimeMs = Math.max(0, credentials.expiresAtMs - credentials.obtainedAtMs);
  const dueAtMs = credentials.obtainedAtMs + lifetimeMs * REFRESH_AT_FRACTION;
  return Math.min(MAX_TIMER_DELAY_MS, Math.max(MIN_REFRESH_DELAY_MS, dueAtMs - nowMs));
}

/** The delay before retry number `attempt` (0-based), or undefined when retries are exhausted. */
export function retryDelayMs(attempt: number): number | undefined {
  return REFRESH_RETRY_DELAYS_MS[attempt];
}
