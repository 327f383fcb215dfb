import { describe, expect, it } from 'vitest';
import { createClientLimiter } from './client-limits.js';

describe('createClientLimiter', () => {
  it('allows a minute of requests in a burst, then refills at the average rate', () => {
    let now = 0;
    const limiter = createClientLimiter({
      requestsPerMinute: 3,
      maxConcurrent: 0,
      nowMs: () => now,
    });
    for (let i = 0; i < 3; i++) {
      expect(limiter.admit('a')).toBeUndefined();
      limiter.release('a');
    }
    expect(limiter.admit('a')).toBe('rate-limited');
    expect(limiter.admit('b')).toBeUndefined();
    now += 20_000; // one token back
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('a')).toBe('rate-limited');
  });

  it('caps requests open at once per client', () => {
    const limiter = createClientLimiter({ requestsPerMinute: 0, maxConcurrent: 2 });
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('a')).toBe('too-many-connections');
    expect(limiter.admit('b')).toBeUndefined();
    expect(limiter.openCount).toBe(3);
    limiter.release('a');
    expect(limiter.admit('a')).toBeUndefined();
  });

  it('counts open requests without a per-client cap', () => {
    const limiter = createClientLimiter({ requestsPerMinute: 0, maxConcurrent: 0 });
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('b')).toBeUndefined();
    expect(limiter.openCount).toBe(3);
    limiter.release('a');
    limiter.release('b');
    limiter.release('a');
    limiter.release('a');
    expect(limiter.openCount).toBe(0);
  });

  it('forgets idle clients after a minute', () => {
    let now = 0;
    const limiter = createClientLimiter({
      requestsPerMinute: 1,
      maxConcurrent: 0,
      nowMs: () => now,
    });
    expect(limiter.admit('a')).toBeUndefined();
    limiter.release('a');
    now += 120_000;
    expect(limiter.admit('b')).toBeUndefined();
    expect(limiter.admit('a')).toBeUndefined();
  });
});
