/**
 * The recovery state machine of relay modes: when a connection that was up through the relay
 * loses ICE (the relay restarted, the network moved), restart ICE with fresh credentials, with
 * bounded attempts and a growing delay between them.
 * @module
 */

/** Why a recovery attempt starts. */
export type RecoveryReason = 'ice-disconnected' | 'ice-failed';

/**
 * The states of {@link IceRecovery}:
 *
 * ```
 *            connected                      disconnected
 *   idle ─────────────► up ◄──────────┐  up ─────────────► grace
 *                        ▲            │                      │ still down after the grace,
 *                        │ connected  │                      │ or failed
 *                        │            │ connected            ▼
 *                      restarting ◄───┴──────────────── (restart n)
 *                        │  not up in time, or failed        ▲
 *                        ▼                                   │ delay elapsed
 *                      backoff ──────────────────────────────┘
 *                        │ attempts exhausted
 *                        ▼
 *                      gave-up   (terminal)
 * ```
 *
 * `failed` while `up` skips the grace. Recovery only starts after the connection was up once:
 * the first connection is the app's (and, in `auto`, the fallback's) business.
 */
export type RecoveryState = 'idle' | 'up' | 'grace' | 'restarting' | 'backoff' | 'gave-up';

/** What the driver must do after an input. */
export type RecoveryAction =
  | { readonly type: 'none' }
  | { readonly type: 'restart'; readonly attempt: number; readonly reason: RecoveryReason }
  | { readonly type: 'recovered'; readonly attempts: number; readonly elapsedMs: number }
  | { readonly type: 'give-up'; readonly attempts: number; readonly elapsedMs: number };

/** Timing of {@link IceRecovery}. */
export interface IceRecoveryOptions {
  /** How long `disconnected` may last before an ICE restart (ICE often recovers by itself). */
  readonly disconnectedTimeoutMs: number;
  /** How long one attempt may take to reconnect before the next one. */
  readonly attemptTimeoutMs: number;
  /** Delays before attempts 2, 3, …; their count + 1 is the number of attempts. */
  readonly retryDelaysMs: readonly number[];
}

/** Default of `reconnect.disconnectedTimeoutMs`. */
export const DEFAULT_DISCONNECTED_TIMEOUT_MS = 5000;
/** Default of `reconnect.attemptTimeoutMs`. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 15_000;
/** Default delays between attempts: 5 attempts over about a minute and a half. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000, 8000];

const NONE: RecoveryAction = { type: 'none' };

/**
 * IceRecovery decides when a relayed connection restarts ICE after losing it. Pure: time is
 * passed in and the driver owns the timer (`nextDeadlineMs()`, `handleTimeout(nowMs)`).
 * Not reentrant.
 */
export class IceRecovery {
  #state: RecoveryState = 'idle';
  #deadlineMs: number | undefined;
  #attempts = 0;
  #lostAtMs = 0;
  #reason: RecoveryReason = 'ice-disconnected';
  readonly #options: IceRecoveryOptions;

  constructor(options: IceRecoveryOptions) {
    this.#options = options;
  }

  /** The current state. */
  get state(): RecoveryState {
    return this.#state;
  }

  /** When the driver must call {@link handleTimeout}; undefined when no deadline is armed. */
  nextDeadlineMs(): number | undefined {
    return this.#deadlineMs;
  }

  /** The connection is up (ICE connected or completed). */
  handleConnected(nowMs: number): RecoveryAction {
    const recovering = this.#state === 'restarting' || this.#state === 'backoff';
    const attempts = this.#attempts;
    if (this.#state === 'gave-up') return NONE;
    this.#state = 'up';
    this.#deadlineMs = undefined;
    this.#attempts = 0;
    if (!recovering) return NONE;
    return { type: 'recovered', attempts, elapsedMs: nowMs - this.#lostAtMs };
  }

  /** ICE reports `disconnected`. */
  handleDisconnected(nowMs: number): RecoveryAction {
    if (this.#state !== 'up') return NONE;
    this.#state = 'grace';
    this.#lostAtMs = nowMs;
    this.#reason = 'ice-disconnected';
    this.#deadlineMs = nowMs + this.#options.disconnectedTimeoutMs;
    return NONE;
  }

  /** ICE reports `failed`. */
  handleFailed(nowMs: number): RecoveryAction {
    switch (this.#state) {
      case 'up':
        this.#lostAtMs = nowMs;
        this.#reason = 'ice-failed';
        return this.#restart(nowMs);
      case 'grace':
        this.#reason = 'ice-failed';
        return this.#restart(nowMs);
      case 'restarting':
        return this.#next(nowMs);
      case 'idle':
      case 'backoff':
      case 'gave-up':
        return NONE;
    }
  }

  /** The deadline passed (the driver's timer fired). */
  handleTimeout(nowMs: number): RecoveryAction {
    if (this.#deadlineMs === undefined || nowMs < this.#deadlineMs) return NONE;
    switch (this.#state) {
      case 'grace':
      case 'backoff':
        return this.#restart(nowMs);
      case 'restarting':
        return this.#next(nowMs);
      case 'idle':
      case 'up':
      case 'gave-up':
        this.#deadlineMs = undefined;
        return NONE;
    }
  }

  #restart(nowMs: number): RecoveryAction {
    this.#attempts++;
    this.#state = 'restarting';
    this.#deadlineMs = nowMs + this.#options.attemptTimeoutMs;
    return { type: 'restart', attempt: this.#attempts, reason: this.#reason };
  }

  /** The current attempt did not reconnect: wait for the next one, or give up. */
  #next(nowMs: number): RecoveryAction {
    const delayMs = this.#options.retryDelaysMs[this.#attempts - 1];
    if (delayMs === undefined) {
      this.#state = 'gave-up';
      this.#deadlineMs = undefined;
      return { type: 'give-up', attempts: this.#attempts, elapsedMs: nowMs - this.#lostAtMs };
    }
    this.#state = 'backoff';
    this.#deadlineMs = nowMs + delayMs;
    return NONE;
  }
}
