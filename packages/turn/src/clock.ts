/**
 * Clock: the only source of time for the Sans-IO core (injected). The driver passes two:
 * `monotonicClock` for every deadline the relay keeps (allocation lifetimes, permissions,
 * channels, nonces, reservations, rate limits), so that a wall-clock step (NTP, an operator,
 * a VM resume) neither expires nor prolongs them; and `systemClock` (wall time) for what other
 * machines define in wall time, i.e. the expiry written into TURN REST usernames.
 * @module
 */

/** Clock gives the current time in milliseconds since the Unix epoch. */
export interface Clock {
  nowMs(): number;
}

/** The wall clock. Used by the Node driver; the core never reads time by itself. */
// eslint-disable-next-line no-restricted-properties -- the one place the wall clock is read
export const systemClock: Clock = { nowMs: () => Date.now() };

/**
 * A monotonic clock on the Unix-epoch scale: the wall time when the process started plus the
 * monotonic time elapsed since (`performance.timeOrigin + performance.now()`). It never steps
 * when the wall clock is changed, and its values stay comparable with wall time to within the
 * drift since the start, so stateless nonces from another process remain meaningful.
 */
export const monotonicClock: Clock = {
  nowMs: () => performance.timeOrigin + performance.now(),
};

/** FakeClock is a manually advanced clock for tests and simulations. */
export class FakeClock implements Clock {
  #nowMs: number;

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#nowMs += ms;
  }

  /** Sets the absolute time in milliseconds. */
  set(ms: number): void {
    this.#nowMs = ms;
  }
}
