import { describe, expect, it } from 'vitest';
import { AutoFallback } from './auto-fallback.js';

const options = { directTimeoutMs: 3000, relayTimeoutMs: 10_000 };

describe('AutoFallback', () => {
  it('stays direct when the direct attempt connects in time', () => {
    const fsm = new AutoFallback(options);
    fsm.handleChecking(0);
    expect(fsm.nextDeadlineMs()).toBe(3000);
    fsm.handleConnected(1200);
    expect(fsm.state).toBe('direct-connected');
    expect(fsm.nextDeadlineMs()).toBeUndefined();
    expect(fsm.handleTimeout(5000)).toEqual({ type: 'none' });
  });

  it('falls back to relay when the direct attempt times out', () => {
    const fsm = new AutoFallback(options);
    fsm.handleChecking(100);
    expect(fsm.handleTimeout(3099)).toEqual({ type: 'none' });
    expect(fsm.handleTimeout(3100)).toEqual({
      type: 'fallback',
      reason: 'timeout',
      elapsedMs: 3000,
    });
    expect(fsm.state).toBe('relay');
    expect(fsm.nextDeadlineMs()).toBe(13_100);
  });

  it('falls back at once when ICE fails, even before checking', () => {
    const early = new AutoFallback(options);
    expect(early.handleFailed(50)).toEqual({
      type: 'fallback',
      reason: 'ice-failed',
      elapsedMs: 0,
    });
    const fsm = new AutoFallback(options);
    fsm.handleChecking(0);
    expect(fsm.handleFailed(800)).toEqual({
      type: 'fallback',
      reason: 'ice-failed',
      elapsedMs: 800,
    });
  });

  it('falls back when a direct connection fails later', () => {
    const fsm = new AutoFallback(options);
    fsm.handleChecking(0);
    fsm.handleConnected(500);
    expect(fsm.handleFailed(60_000)).toMatchObject({ type: 'fallback', reason: 'ice-failed' });
  });

  it('connects through the relay and never falls back twice', () => {
    const fsm = new AutoFallback(options);
    fsm.handleChecking(0);
    fsm.handleTimeout(3000);
    // The old direct path failing during the relay attempt changes nothing.
    expect(fsm.handleFailed(3500)).toEqual({ type: 'none' });
    fsm.handleConnected(4000);
    expect(fsm.state).toBe('relay-connected');
    expect(fsm.handleFailed(9000)).toEqual({
      type: 'give-up',
      reason: 'ice-failed',
      elapsedMs: 9000,
    });
    expect(fsm.state).toBe('failed');
    expect(fsm.handleFailed(9500)).toEqual({ type: 'none' });
    fsm.handleChecking(10_000);
    expect(fsm.state).toBe('failed');
  });

  it('gives up when the relay attempt times out, and stays failed', () => {
    const fsm = new AutoFallback(options);
    fsm.handleChecking(0);
    fsm.handleTimeout(3000);
    expect(fsm.handleTimeout(13_000)).toEqual({
      type: 'give-up',
      reason: 'timeout',
      elapsedMs: 13_000,
    });
    expect(fsm.nextDeadlineMs()).toBeUndefined();
    expect(fsm.handleTimeout(99_000)).toEqual({ type: 'none' });
    fsm.handleConnected(100_000);
    expect(fsm.state).toBe('failed');
  });
});
