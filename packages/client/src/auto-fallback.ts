/**
 * The fallback state machine of `auto` mode: a direct attempt first, one switch to relay over
 * TLS when it does not connect in time or ICE fails, and never a second switch.
 * @module
 */

/** Why `auto` left the direct path (or gave up on the relay). */
export type FallbackReason = 'timeout' | 'ice-failed';

/**
 * The states of {@link AutoFallback}:
 *
 * ```
 *            checking                connected
 *   idle ──────────────► direct ──────────────► direct-connected
 *                          │                          │
 *                          │ timeout / ice failed     │ ice failed
 *                          ▼                          │
 *                        relay ◄──────────────────────┘
 *                          │  ▲ ice failed: stays relay until its deadline
 *              connected   │
 *      relay-connected ◄───┤
 *                          │ timeout (or ice failed after connecting)
 *                          ▼
 *                        failed   (terminal: no more switches)
 * ```
 */
export type AutoState =
  'idle' | 'direct' | 'direct-connected' | 'relay' | 'relay-connected' | 'failed';

/** What the driver must do after an input. */
export type AutoAction =
  | { readonly type: 'none' }
  | { readonly type: 'fallback'; readonly reason: FallbackReason; readonly elapsedMs: number }
  | { readonly type: 'give-up'; readonly reason: FallbackReason; readonly elapsedMs: number };

/** Timeouts of {@link AutoFallback}. */
export interface AutoFallbackOptions {
  /** How long the direct attempt may take before switching to relay. */
  readonly directTimeoutMs: number;
  /** How long the relay attempt may take before giving up. */
  readonly relayTimeoutMs: number;
}

const NONE: AutoAction = { type: 'none' };

/**
 * AutoFallback decides when `auto` switches from direct to relay. Pure: time is passed in and
 * the driver owns the timer (`nextDeadlineMs()`, `handleTimeout(nowMs)`). Not reentrant.
 */
export class AutoFallback {
  #state: AutoState = 'idle';
  #startedAtMs = 0;
  #deadlineMs: number | undefined;
  readonly #options: AutoFallbackOptions;

  constructor(options: AutoFallbackOptions) {
    this.#options = options;
  }

  /** The current state. */
  get state(): AutoState {
    return this.#state;
  }

  /** When the driver must call {@link handleTimeout}; undefined when no deadline is armed. */
  nextDeadlineMs(): number | undefined {
    return this.#deadlineMs;
  }

  /** ICE started checking (or the connection started connecting): arms the direct deadline. */
  handleChecking(nowMs: number): void {
    if (this.#state !== 'idle') return;
    this.#state = 'direct';
    this.#startedAtMs = nowMs;
    this.#deadlineMs = nowMs + this.#options.directTimeoutMs;
  }

  /** The connection is up on the current path. */
  handleConnected(nowMs: number): void {
    if (this.#state === 'idle') this.#startedAtMs = nowMs;
    if (this.#state === 'idle' || this.#state === 'direct') this.#state = 'direct-connected';
    else if (this.#state === 'relay') this.#state = 'relay-connected';
    else return;
    this.#deadlineMs = undefined;
  }

  /** ICE failed on the current path. */
  handleFailed(nowMs: number): AutoAction {
    switch (this.#state) {
      case 'idle':
      case 'direct':
      case 'direct-connected':
        return this.#toRelay('ice-failed', nowMs);
      case 'relay-connected':
        return this.#giveUp('ice-failed', nowMs);
      case 'relay':
      case 'failed':
        // While the relay attempt runs, a failure of the old (direct) path is expected: the
        // relay deadline decides.
        return NONE;
    }
  }

  /** The deadline passed (the driver's timer fired). */
  handleTimeout(nowMs: number): AutoAction {
    if (this.#deadlineMs === undefined || nowMs < this.#deadlineMs) return NONE;
    if (this.#state === 'direct') return this.#toRelay('timeout', nowMs);
    if (this.#state === 'relay') return this.#giveUp('timeout', nowMs);
    this.#deadlineMs = undefined;
    return NONE;
  }

  #toRelay(reason: FallbackReason, nowMs: number): AutoAction {
    if (this.#state === 'idle') this.#startedAtMs = nowMs;
    this.#state = 'relay';
    this.#deadlineMs = nowMs + this.#options.relayTimeoutMs;
    return { type: 'fallback', reason, elapsedMs: nowMs - this.#startedAtMs };
  }

  #giveUp(reason: FallbackReason, nowMs: number): AutoAction {
    this.#state = 'failed';
    this.#deadlineMs = undefined;
    return { type: 'give-up', reason, elapsedMs: nowMs - this.#startedAtMs };
  }
}
