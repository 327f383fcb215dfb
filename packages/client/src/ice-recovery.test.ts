import { describe, expect, it } from 'vitest';
import { IceRecovery } from './ice-recovery.js';

const options = {
  disconnectedTimeoutMs: 5000,
  attemptTimeoutMs: 10_000,
  retryDelaysMs: [1000, 2000],
};

function upAt(nowMs: number): IceRecovery {
  const r = new IceRecovery(options);
  r.handleConnected(nowMs);
  return r;
}

describe('IceRecovery', () => {
  it('does nothing before the connection was up once', () => {
    const r = new IceRecovery(options);
    expect(r.handleDisconnected(0)).toEqual({ type: 'none' });
    expect(r.handleFailed(0)).toEqual({ type: 'none' });
    expect(r.state).toBe('idle');
  });

  it('waits out a short disconnection without restarting', () => {
    const r = upAt(0);
    r.handleDisconnected(100);
    expect(r.nextDeadlineMs()).toBe(5100);
    expect(r.handleConnected(2000)).toEqual({ type: 'none' });
    expect(r.handleTimeout(5100)).toEqual({ type: 'none' });
    expect(r.state).toBe('up');
  });

  it('restarts after the grace, then reports the reconnection with attempts and elapsed time', () => {
    const r = upAt(0);
    r.handleDisconnected(100);
    expect(r.handleTimeout(5100)).toEqual({
      type: 'restart',
      attempt: 1,
      reason: 'ice-disconnected',
    });
    expect(r.handleConnected(7100)).toEqual({ type: 'recovered', attempts: 1, elapsedMs: 7000 });
  });

  it('restarts at once on failed, then backs off between attempts and gives up when they run out', () => {
    const r = upAt(0);
    expect(r.handleFailed(0)).toEqual({ type: 'restart', attempt: 1, reason: 'ice-failed' });
    expect(r.handleTimeout(10_000)).toEqual({ type: 'none' });
    expect(r.state).toBe('backoff');
    expect(r.nextDeadlineMs()).toBe(11_000);
    expect(r.handleTimeout(11_000)).toEqual({ type: 'restart', attempt: 2, reason: 'ice-failed' });
    expect(r.handleFailed(12_000)).toEqual({ type: 'none' });
    expect(r.nextDeadlineMs()).toBe(14_000);
    expect(r.handleTimeout(14_000)).toEqual({ type: 'restart', attempt: 3, reason: 'ice-failed' });
    expect(r.handleTimeout(24_000)).toEqual({ type: 'give-up', attempts: 3, elapsedMs: 24_000 });
    expect(r.state).toBe('gave-up');
    expect(r.handleConnected(25_000)).toEqual({ type: 'none' });
  });

  it('starts counting attempts afresh after a recovery', () => {
    const r = upAt(0);
    r.handleFailed(0);
    r.handleTimeout(10_000);
    r.handleTimeout(11_000);
    expect(r.handleConnected(12_000)).toEqual({
      type: 'recovered',
      attempts: 2,
      elapsedMs: 12_000,
    });
    expect(r.handleFailed(20_000)).toEqual({ type: 'restart', attempt: 1, reason: 'ice-failed' });
  });
});
