/**
 * CloudProxyClient: the object an app creates with `createClient` — proxy modes, the
 * RTCConfiguration per mode, watched peer connections, events, and the proxied signaling
 * transports.
 * @module
 */
import type { ClientEventMap } from './client-events.js';
import {
  createCredentialProvider,
  type CredentialProvider,
  type Credentials,
} from './credentials.js';
import { Emitter, type Handler } from './emitter.js';
import { ClientErrorCode, CloudProxyError } from './errors.js';
import type { MobileMediaProxy } from './mobile-profile.js';
import { resolveMode, type ProxyMode, type ProxyModeInput } from './modes.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';
import { PeerWatcher } from './peer-watcher.js';
import { createProxiedFetch, createProxiedWebSocket } from './proxied-transport.js';
import { rewriteUrl } from './proxy-url.js';
import { buildRtcConfiguration, type ConnectionPhase } from './rtc-config.js';

/**
 * The client's connection state, over the peer connections it made: `connected` when one is up,
 * `connecting` when one is open but not (yet, or any more) up, `disconnected` when none is open.
 */
export type ClientConnectionState = 'disconnected' | 'connecting' | 'connected';

/** Options of {@link CloudProxyClient.getRtcConfiguration}. */
export interface RtcConfigurationOptions {
  /** `direct` (default) or `relay` (the configuration `auto` falls back to). */
  readonly phase?: ConnectionPhase;
  /** Fields merged into the result (its iceServers/iceTransportPolicy are replaced). */
  readonly extra?: RTCConfiguration;
}

/**
 * CloudProxyClient: created by {@link createClient}; see docs/client.md for the whole guide.
 * Mode changes are allowed only while no peer connection of the client is open.
 */
export class CloudProxyClient {
  readonly #options: ResolvedClientOptions;
  readonly #emitter = new Emitter<ClientEventMap>();
  readonly #watchers = new Set<PeerWatcher>();
  readonly #provider: CredentialProvider | undefined;
  #mode: ProxyMode | undefined;
  #closed = false;
  #webSocket: typeof WebSocket | undefined;

  /**
   * A `fetch` that sends requests for proxied hosts through the signaling proxy; other URLs go
   * direct. Same signature as the global `fetch`.
   */
  readonly fetch: typeof fetch;

  /** Use {@link createClient}. */
  constructor(options: ClientOptions = {}) {
    this.#options = resolveClientOptions(options);
    this.#mode = this.#options.mode;
    const fetchImpl = this.#options.fetch;
    this.fetch = createProxiedFetch(this.#options.proxy, fetchImpl);
    const source = this.#options.credentials;
    this.#provider =
      source === undefined
        ? undefined
        : createCredentialProvider(
            source,
            () => fetchImpl ?? globalThis.fetch.bind(globalThis),
            () => Date.now(),
          );
  }

  /** The proxy mode in force; undefined when the cloud proxy is off. */
  get mode(): ProxyMode | undefined {
    return this.#mode;
  }

  /** The connection state over the client's peer connections. */
  get connectionState(): ClientConnectionState {
    let state: ClientConnectionState = 'disconnected';
    for (const watcher of this.#watchers) {
      if (!watcher.isLive()) {
        watcher.dispose();
        this.#watchers.delete(watcher);
      } else if (watcher.isConnected()) {
        return 'connected';
      } else {
        state = 'connecting';
      }
    }
    return state;
  }

  /** The native media proxy settings when the client was created with `profile: 'mobile'`. */
  get mobileMediaProxy(): MobileMediaProxy | undefined {
    return this.#options.mobileProxy;
  }

  /**
   * A WebSocket class that opens `wss://` URLs of proxied hosts through the signaling proxy.
   * Throws `UNSUPPORTED` when no WebSocket implementation exists (Node 20: pass
   * `options.WebSocket`).
   */
  get WebSocket(): typeof WebSocket {
    this.#webSocket ??= createProxiedWebSocket(this.#options.proxy, this.#options.WebSocket);
    return this.#webSocket;
  }

  /**
   * Turns the cloud proxy on in `mode`: `auto`, `force-udp`, `force-tcp`, or a numeric alias
   * (web 3 = force-udp, 5 = force-tcp; native 0 = auto, 1 = force-udp, 2 = force-tcp). Applies
   * to peer connections created afterwards. Throws `INVALID_MODE`, or `ALREADY_CONNECTED` while
   * a peer connection of the client is open.
   *
   * @example
   * client.startProxyServer('force-tcp');
   * const pc = await client.createPeerConnection();
   */
  startProxyServer(mode: ProxyModeInput): void {
    this.#assertIdle('startProxyServer');
    this.#mode = resolveMode(mode);
  }

  /** Turns the cloud proxy off. Throws `ALREADY_CONNECTED` while a connection is open. */
  stopProxyServer(): void {
    this.#assertIdle('stopProxyServer');
    this.#mode = undefined;
  }

  /** Adds a handler for a client event (see {@link ClientEventMap}). */
  on<K extends keyof ClientEventMap>(event: K, handler: Handler<ClientEventMap[K]>): void {
    this.#emitter.on(event, handler);
  }

  /** Removes a handler added with {@link on}. */
  off<K extends keyof ClientEventMap>(event: K, handler: Handler<ClientEventMap[K]>): void {
    this.#emitter.off(event, handler);
  }

  /**
   * The URL to use for `url`: `https://host/path` → `{proxy}/host/path`, `wss://host/path` →
   * `{proxy as wss}/host/path` for proxied hosts; anything else unchanged.
   */
  proxiedUrl(url: string | URL): string {
    return rewriteUrl(url, this.#options.proxy);
  }

  /**
   * The RTCConfiguration for the current mode with fresh credentials (see docs/client.md for
   * what each mode contains). Rejects with `CREDENTIALS_FAILED` or `NO_SERVER_FOR_MODE`.
   */
  async getRtcConfiguration(options: RtcConfigurationOptions = {}): Promise<RTCConfiguration> {
    const { config } = await this.#configure(
      this.#mode,
      options.phase ?? 'direct',
      options.extra ?? {},
    );
    return config;
  }

  /**
   * Creates an RTCPeerConnection with {@link getRtcConfiguration} and watches it: it emits the
   * events, refreshes credentials with `setConfiguration` before they expire (then calls
   * `restartIce()` unless `restartIceOnRefresh` is false) and, in `auto`, falls back to relay
   * over TLS with `setConfiguration` + `restartIce()`. The app must renegotiate on
   * `negotiationneeded` for the restarts to take effect.
   */
  async createPeerConnection(extra: RTCConfiguration = {}): Promise<RTCPeerConnection> {
    const mode = this.#mode;
    const { config, credentials } = await this.#configure(mode, 'direct', extra);
    this.#assertOpen('createPeerConnection');
    const Pc =
      this.#options.RTCPeerConnection ??
      (globalThis as Partial<typeof globalThis>).RTCPeerConnection;
    if (Pc === undefined) {
      throw new CloudProxyError(
        ClientErrorCode.Unsupported,
        'RTCPeerConnection: no implementation in this environment; pass options.RTCPeerConnection',
        { field: 'RTCPeerConnection' },
      );
    }
    const pc = new Pc(config);
    const watcher = new PeerWatcher(pc, {
      mode,
      credentials,
      provider: mode === undefined ? undefined : this.#provider,
      directTimeoutMs: this.#options.directTimeoutMs,
      relayTimeoutMs: this.#options.relayTimeoutMs,
      restartIceOnRefresh: this.#options.restartIceOnRefresh,
      reconnect: this.#options.reconnect,
      emit: (event, payload) => {
        this.#emitter.emit(event, payload);
      },
      nowMs: () => Date.now(),
    });
    this.#watchers.add(watcher);
    return pc;
  }

  /**
   * Stops watching every connection (it does not close them) and drops every handler.
   * Idempotent; the client refuses further use with `CLOSED`.
   */
  close(): Promise<void> {
    this.#closed = true;
    for (const watcher of this.#watchers) watcher.dispose();
    this.#watchers.clear();
    this.#emitter.clear();
    return Promise.resolve();
  }

  async #configure(
    mode: ProxyMode | undefined,
    phase: ConnectionPhase,
    extra: RTCConfiguration,
  ): Promise<{ config: RTCConfiguration; credentials: Credentials }> {
    this.#assertOpen('getRtcConfiguration');
    const credentials = await this.#credentialsFor(mode);
    if (mode === undefined && credentials.servers.length === 0) {
      return { config: { ...extra }, credentials };
    }
    return { config: buildRtcConfiguration(credentials.servers, mode, phase, extra), credentials };
  }

  async #credentialsFor(mode: ProxyMode | undefined): Promise<Credentials> {
    const fixed = this.#options.staticServers;
    if (mode !== undefined && this.#provider !== undefined) return this.#provider(mode);
    if (fixed !== undefined || mode === undefined) {
      return { servers: fixed ?? [], expiresAtMs: undefined, obtainedAtMs: Date.now() };
    }
    throw new CloudProxyError(
      ClientErrorCode.CredentialsFailed,
      `credentials: mode ${mode} needs a credentials source (options.credentials) or networkConfiguration.turn`,
      { field: 'credentials' },
    );
  }

  #assertOpen(what: string): void {
    if (this.#closed) {
      throw new CloudProxyError(ClientErrorCode.Closed, `${what}: the client is closed`);
    }
  }

  #assertIdle(what: string): void {
    this.#assertOpen(what);
    const state = this.connectionState;
    if (state !== 'disconnected') {
      throw new CloudProxyError(
        ClientErrorCode.AlreadyConnected,
        `${what}: not allowed while ${state}; close the client's peer connections first`,
      );
    }
  }
}

/**
 * Creates a client. Every option is validated at once; a bad one throws a
 * {@link CloudProxyError} whose `code` is stable and whose `field` and message name the option.
 *
 * @example
 * const client = createClient({
 *   networkConfiguration: { proxy: { url: 'https://proxy.example.com' } },
 *   credentials: { endpoint, token, channel: 'room-1', uid: 'alice' },
 * });
 * client.startProxyServer('auto');
 * const pc = await client.createPeerConnection();
 */
export function createClient(options: ClientOptions = {}): CloudProxyClient {
  return new CloudProxyClient(options);
}
