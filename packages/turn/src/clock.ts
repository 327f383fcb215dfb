/**
 * Clock: the only source of time for the Sans-IO core (injected; the driver passes Date.now).
 * @module
 */

/** Clock gives the current time in milliseconds since the Unix epoch. */
export interface Clock {
  nowMs(): number;
}

/** The wall clock. Used by the Node driver; the core never reads time by itself. */
// eslint-disable-next-line no-restricted-properties -- the one place the wall clock is read
export const systemClock: Clock = { nowMs: () => Date.now() };

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
