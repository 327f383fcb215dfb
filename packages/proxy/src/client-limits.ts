/**
 * Per-client limits: a request rate (token bucket per client address) and a cap on requests and
 * WebSockets open at once.
 * @module
 */
import type { ProxyErrorCode } from './errors.js';

/** ClientLimiter admits or refuses work per client address. */
export interface ClientLimiter {
  /**
   * Admits one request or upgrade from `client`, or returns the refusal code. An admitted one
   * holds a concurrency slot until {@link ClientLimiter.release}.
   */
  admit(client: string): ProxyErrorCode | undefined;
  /** Frees the slot of an admitted request; call exactly once per admission. */
  release(client: string): void;
  /** Requests and WebSockets open now, all clients together. */
  readonly openCount: number;
}

/** Options of {@link createClientLimiter}; 0 disables a limit. */
export interface ClientLimiterOptions {
  readonly requestsPerMinute: number;
  readonly maxConcurrent: number;
  /** Clock in milliseconds (injected by tests). */
  readonly nowMs?: () => number;
}

const MINUTE_MS = 60_000;

interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

/**
 * Creates the limiter. The rate is a token bucket of `requestsPerMinute` tokens refilled
 * continuously, so a client may burst a minute's worth and then continues at the average rate.
 * Full buckets are swept once a minute, so memory follows the clients active in the last minute.
 */
export function createClientLimiter(options: ClientLimiterOptions): ClientLimiter {
  const nowMs = options.nowMs ?? Date.now;
  const buckets = new Map<string, Bucket>();
  const open = new Map<string, number>();
  let openCount = 0;
  let sweptAtMs = nowMs();
  const rate = options.requestsPerMinute;

  const takeToken = (client: string, now: number): boolean => {
    let bucket = buckets.get(client);
    if (bucket === undefined) {
      bucket = { tokens: rate, updatedAtMs: now };
      buckets.set(client, bucket);
    }
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.updatedAtMs) * rate) / MINUTE_MS);
    bucket.updatedAtMs = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
  const sweep = (now: number): void => {
    if (now - sweptAtMs < MINUTE_MS) return;
    sweptAtMs = now;
    for (const [client, bucket] of buckets) {
      if (now - bucket.updatedAtMs >= MINUTE_MS) buckets.delete(client);
    }
  };

  // Without a cap on open requests per client, only the total is kept: no map per request.
  const perClient = options.maxConcurrent > 0;
  return {
    admit: (client) => {
      const current = perClient ? (open.get(client) ?? 0) : 0;
      if (perClient && current >= options.maxConcurrent) {
        return 'too-many-connections';
      }
      if (rate > 0) {
        const now = nowMs();
        sweep(now);
        if (!takeToken(client, now)) return 'rate-limited';
      }
      if (perClient) open.set(client, current + 1);
      openCount++;
      return undefined;
    },
    release: (client) => {
      if (!perClient) {
        if (openCount > 0) openCount--;
        return;
      }
      const current = open.get(client) ?? 0;
      if (current <= 1) open.delete(client);
      else open.set(client, current - 1);
      if (current > 0) openCount--;
    },
    get openCount() {
      return openCount;
    },
  };
}
