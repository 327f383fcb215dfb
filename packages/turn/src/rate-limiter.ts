/**
 * Per-source token buckets, bounded in memory: used to limit 401/438 answers per client IP.
 * @module
 */

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Most sources tracked at once; past it the table starts over (an attacker can't grow memory). */
const MAX_SOURCES = 65_536;

/** RateLimiter allows `ratePerS` events per second per key, with a burst of the same size. */
export class RateLimiter {
  readonly #ratePerS: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(ratePerS: number) {
    this.#ratePerS = ratePerS;
  }

  /** Takes one token for `key` at `nowMs`; false when the key is over its rate. */
  take(key: string, nowMs: number): boolean {
    if (this.#ratePerS <= 0) return true;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= MAX_SOURCES) this.#buckets.clear();
      bucket = { tokens: this.#ratePerS, atMs: nowMs };
      this.#buckets.set(key, bucket);
    }
    const refill = ((nowMs - bucket.atMs) / 1000) * this.#ratePerS;
    bucket.tokens = Math.min(this.#ratePerS, bucket.tokens + refill);
    bucket.atMs = nowMs;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets buckets that are full again (called from the periodic sweep). */
  sweep(nowMs: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.#ratePerS >= this.#ratePerS) {
        this.#buckets.delete(key);
      }
    }
  }
}
