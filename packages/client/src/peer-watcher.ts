/**
 * PeerWatcher follows one RTCPeerConnection made by the client: it reports how it connected,
 * refreshes its credentials before they expire and, in `auto` mode, switches it to relay over
 * TLS when the direct attempt does not connect.
 * @module
 */
import { AutoFallback, type AutoAction } from './auto-fallback.js';
import type { ClientEventMap } from './client-events.js';
import type { CredentialProvider, Credentials } from './credentials.js';
import { ClientErrorCode, CloudProxyError, isCloudProxyError } from './errors.js';
import { IceRecovery, type IceRecoveryOptions, type RecoveryAction } from './ice-recovery.js';
import type { ProxyMode } from './modes.js';
import { refreshDelayMs, retryDelayMs } from './refresh-schedule.js';
import { buildRtcConfiguration, type ConnectionPhase } from './rtc-config.js';
import { readSelectedPath } from './selected-pair.js';

/** Attempts (200 ms apart) to find the selected pair after a connection comes up. */
const STATS_ATTEMPTS = 10;
const STATS_RETRY_MS = 200;

/** What a watcher needs from its client. */
export interface WatcherContext {
  readonly mode: ProxyMode | undefined;
  /** The credentials the connection was created with. */
  readonly credentials: Credentials;
  /** Obtains fresh credentials for `mode`; undefined for a fixed configuration. */
  readonly provider: CredentialProvider | undefined;
  readonly directTimeoutMs: number;
  readonly relayTimeoutMs: number;
  readonly restartIceOnRefresh: boolean;
  /** Recovery after ICE is lost (relay modes only); undefined: off. */
  readonly reconnect: IceRecoveryOptions | undefined;
  readonly emit: <K extends keyof ClientEventMap>(event: K, payload: ClientEventMap[K]) => void;
  readonly nowMs: () => number;
}

type Timer = ReturnType<typeof setTimeout>;

function asClientError(err: unknown, code: ClientErrorCode, what: string): CloudProxyError {
  if (isCloudProxyError(err)) return err;
  return new CloudProxyError(code, `${what}: ${String(err)}`, { cause: err });
}

/**
 * PeerWatcher: one per connection, created by `createPeerConnection`. Call `dispose()` exactly
 * once (the client does when the connection or the client closes); it never closes the
 * connection itself.
 */
export class PeerWatcher {
  readonly pc: RTCPeerConnection;
  readonly #ctx: WatcherContext;
  readonly #createdAtMs: number;
  readonly #fallback: AutoFallback | undefined;
  readonly #recovery: IceRecovery | undefined;
  #credentials: Credentials;
  #phase: ConnectionPhase = 'direct';
  #reported = false;
  #disposed = false;
  #fallbackTimer: Timer | undefined;
  #refreshTimer: Timer | undefined;
  #recoveryTimer: Timer | undefined;
  readonly #onChange = (): void => {
    this.#handleStateChange();
  };

  constructor(pc: RTCPeerConnection, ctx: WatcherContext) {
    this.pc = pc;
    this.#ctx = ctx;
    this.#credentials = ctx.credentials;
    this.#createdAtMs = ctx.nowMs();
    this.#fallback =
      ctx.mode === 'auto'
        ? new AutoFallback({
            directTimeoutMs: ctx.directTimeoutMs,
            relayTimeoutMs: ctx.relayTimeoutMs,
          })
        : undefined;
    const relayMode = ctx.mode === 'force-udp' || ctx.mode === 'force-tcp';
    this.#recovery =
      relayMode && ctx.reconnect !== undefined ? new IceRecovery(ctx.reconnect) : undefined;
    pc.addEventListener('connectionstatechange', this.#onChange);
    pc.addEventListener('iceconnectionstatechange', this.#onChange);
    this.#scheduleRefresh(refreshDelayMs(this.#credentials, ctx.nowMs()), 0);
  }

  /** The current phase: `relay` after an `auto` fallback. */
  get phase(): ConnectionPhase {
    return this.#phase;
  }

  /** Whether the connection is open (not closed). */
  isLive(): boolean {
    return (
      !this.#disposed && this.pc.connectionState !== 'closed' && this.pc.signalingState !== 'closed'
    );
  }

  /** Whether the connection is up. */
  isConnected(): boolean {
    const ice = this.pc.iceConnectionState;
    return this.pc.connectionState === 'connected' || ice === 'connected' || ice === 'completed';
  }

  /** Stops watching: removes listeners and timers. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.pc.removeEventListener('connectionstatechange', this.#onChange);
    this.pc.removeEventListener('iceconnectionstatechange', this.#onChange);
    clearTimeout(this.#fallbackTimer);
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#recoveryTimer);
  }

  #handleStateChange(): void {
    if (!this.isLive()) {
      this.dispose();
      return;
    }
    const now = this.#ctx.nowMs();
    const ice = this.pc.iceConnectionState;
    const state = this.pc.connectionState;
    if (this.isConnected()) {
      this.#fallback?.handleConnected(now);
      this.#armFallbackTimer();
      this.#recover(this.#recovery?.handleConnected(now));
      if (!this.#reported) {
        this.#reported = true;
        void this.#reportPath();
      }
      return;
    }
    this.#reported = false;
    this.#handleNotConnected(now, state, ice);
  }

  #handleNotConnected(
    now: number,
    state: RTCPeerConnectionState,
    ice: RTCIceConnectionState,
  ): void {
    if (state === 'failed' || ice === 'failed') {
      this.#act(this.#fallback?.handleFailed(now));
      this.#recover(this.#recovery?.handleFailed(now));
    } else if (state === 'disconnected' || ice === 'disconnected') {
      this.#recover(this.#recovery?.handleDisconnected(now));
    } else if (state === 'connecting' || ice === 'checking') {
      this.#fallback?.handleChecking(now);
      this.#armFallbackTimer();
    }
  }

  #armFallbackTimer(): void {
    clearTimeout(this.#fallbackTimer);
    this.#fallbackTimer = undefined;
    const deadline = this.#fallback?.nextDeadlineMs();
    if (deadline === undefined || this.#disposed) return;
    this.#fallbackTimer = setTimeout(
      () => {
        this.#fallbackTimer = undefined;
        this.#act(this.#fallback?.handleTimeout(this.#ctx.nowMs()));
      },
      Math.max(0, deadline - this.#ctx.nowMs()),
    );
  }

  #act(action: AutoAction | undefined): void {
    this.#armFallbackTimer();
    if (action === undefined || action.type === 'none') return;
    if (action.type === 'give-up') {
      const seconds = (action.elapsedMs / 1000).toFixed(1);
      this.#ctx.emit(
        'error',
        new CloudProxyError(
          ClientErrorCode.ConnectionFailed,
          `auto: relay over TLS did not connect either (${action.reason}, ${seconds} s after the first attempt); no further fallback`,
        ),
      );
      return;
    }
    this.#phase = 'relay';
    this.#ctx.emit('fallback', {
      from: 'direct',
      to: 'relay',
      reason: action.reason,
      elapsedMs: action.elapsedMs,
      peerConnection: this.pc,
    });
    void this.#switchToRelay();
  }

  async #switchToRelay(): Promise<void> {
    try {
      const expiresAtMs = this.#credentials.expiresAtMs;
      if (this.#ctx.provider && expiresAtMs !== undefined && expiresAtMs <= this.#ctx.nowMs()) {
        this.#credentials = await this.#ctx.provider('auto');
      }
      if (!this.isLive()) return;
      this.#apply();
      this.pc.restartIce();
    } catch (err) {
      this.#ctx.emit('error', asClientError(err, ClientErrorCode.ConfigurationFailed, 'fallback'));
    }
  }

  /** Runs a recovery action and re-arms the recovery timer. */
  #recover(action: RecoveryAction | undefined): void {
    clearTimeout(this.#recoveryTimer);
    this.#recoveryTimer = undefined;
    const deadline = this.#recovery?.nextDeadlineMs();
    if (deadline !== undefined && !this.#disposed) {
      this.#recoveryTimer = setTimeout(
        () => {
          this.#recoveryTimer = undefined;
          this.#recover(this.#recovery?.handleTimeout(this.#ctx.nowMs()));
        },
        Math.max(0, deadline - this.#ctx.nowMs()),
      );
    }
    if (action === undefined || action.type === 'none') return;
    if (action.type === 'recovered') {
      this.#ctx.emit('reconnected', { ...action, peerConnection: this.pc });
    } else if (action.type === 'give-up') {
      const seconds = (action.elapsedMs / 1000).toFixed(1);
      this.#ctx.emit(
        'error',
        new CloudProxyError(
          ClientErrorCode.ConnectionFailed,
          `reconnect: the connection did not come back after ${action.attempts} ICE restarts (${seconds} s); no further attempt`,
        ),
      );
    } else {
      this.#ctx.emit('reconnecting', {
        attempt: action.attempt,
        reason: action.reason,
        peerConnection: this.pc,
      });
      void this.#restartWithFreshCredentials();
    }
  }

  /**
   * One recovery attempt: new credentials (the relay may have restarted and forgotten every
   * allocation, or the old credentials may have expired), `setConfiguration`, `restartIce()`.
   * A failure is reported; the attempt's deadline then leads to the next one.
   */
  async #restartWithFreshCredentials(): Promise<void> {
    const provider = this.#ctx.provider;
    const mode = this.#ctx.mode;
    try {
      if (provider !== undefined && mode !== undefined) this.#credentials = await provider(mode);
      if (!this.isLive()) return;
      this.#apply();
      this.pc.restartIce();
    } catch (err) {
      this.#ctx.emit('error', asClientError(err, ClientErrorCode.CredentialsFailed, 'reconnect'));
    }
  }

  /** Applies the credentials and the phase's policy to the connection. */
  #apply(): void {
    const current = this.pc.getConfiguration();
    const next = buildRtcConfiguration(
      this.#credentials.servers,
      this.#ctx.mode,
      this.#phase,
      current,
    );
    try {
      this.pc.setConfiguration(next);
    } catch (err) {
      throw asClientError(err, ClientErrorCode.ConfigurationFailed, 'setConfiguration');
    }
  }

  async #reportPath(): Promise<void> {
    for (let attempt = 0; attempt < STATS_ATTEMPTS && this.isLive(); attempt++) {
      const path = await readSelectedPath(this.pc);
      if (path !== undefined) {
        if (!this.#reported) return;
        const relayed = path.candidateType === 'relay';
        this.#ctx.emit('is-using-cloud-proxy', relayed);
        if (relayed && path.relayProtocol !== undefined) {
          this.#ctx.emit('proxy-connected', {
            mode: this.#ctx.mode,
            transport: path.relayProtocol,
            elapsedMs: this.#ctx.nowMs() - this.#createdAtMs,
            peerConnection: this.pc,
          });
        }
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, STATS_RETRY_MS));
    }
  }

  #scheduleRefresh(delayMs: number | undefined, attempt: number): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (delayMs === undefined || this.#ctx.provider === undefined || this.#disposed) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.#refresh(attempt);
    }, delayMs);
  }

  async #refresh(attempt: number): Promise<void> {
    const provider = this.#ctx.provider;
    if (!this.isLive() || provider === undefined || this.#ctx.mode === undefined) return;
    try {
      const credentials = await provider(this.#ctx.mode);
      if (!this.isLive()) return;
      this.#credentials = credentials;
      this.#apply();
      const restart = this.#ctx.restartIceOnRefresh && this.pc.signalingState !== 'closed';
      if (restart) this.pc.restartIce();
      this.#ctx.emit('credentials-refreshed', {
        expiresAtMs: credentials.expiresAtMs,
        iceRestarted: restart,
        peerConnection: this.pc,
      });
      this.#scheduleRefresh(refreshDelayMs(credentials, this.#ctx.nowMs()), 0);
    } catch (err) {
      this.#ctx.emit('error', asClientError(err, ClientErrorCode.CredentialsFailed, 'refresh'));
      this.#scheduleRefresh(retryDelayMs(attempt), attempt + 1);
    }
  }
}
