/**
 * RateLimiter: a token bucket per key (a bearer token's hash, or the client IP without one):
 * `perMinute` requests per minute with bursts up to `perMinute`.
 * @module
 */

interface Bucket {
  tokens: number;
  atMs: number;
}

/** How many buckets are kept before idle ones are swept. */
const SWEEP_ABOVE = 10_000;

/** RateLimiter answers whether a request may proceed, or how long to wait. */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMinute: number;

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Takes one token for `key`; returns 0 when allowed, else the seconds until one is free. */
  take(key: string, nowMs: number): number {
    const ratePerMs = this.#perMinute / 60_000;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= SWEEP_ABOVE) this.#sweep(nowMs);
      bucket = { tokens: this.#perMinute, atMs: nowMs };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(
      this.#perMinute,
      bucket.tokens + Math.max(0, nowMs - bucket.atMs) * ratePerMs,
    );
    bucket.atMs = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
  }

  /** Drops buckets that are full again (idle for a minute or more). */
  #sweep(nowMs: number): void {
    for (const [key, bucket] of this.#buckets)
      if (nowMs - bucket.atMs >= 60_000) this.#buckets.delete(key);
  }
}
