/**
 * Client options: the shapes an app passes to `createClient` and their validation in one place.
 * @module
 */
import { validateCredentialsSource, type CredentialsSource } from './credentials.js';
import { ClientErrorCode, CloudProxyError } from './errors.js';
import {
  describeValue,
  isRecord,
  validateIceServers,
  type IceServerConfig,
  type ValidatedIceServer,
} from './ice-servers.js';
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_DISCONNECTED_TIMEOUT_MS,
  DEFAULT_RETRY_DELAYS_MS,
  type IceRecoveryOptions,
} from './ice-recovery.js';
import { validateMobileMediaProxy, type MobileMediaProxy } from './mobile-profile.js';
import { resolveMode, type ProxyMode, type ProxyModeInput } from './modes.js';
import {
  resolveProxyConfiguration,
  type ProxyConfiguration,
  type ResolvedProxy,
} from './proxy-url.js';

/** TURN servers given at creation: the media relay. */
export interface TurnConfiguration {
  readonly iceServers: readonly IceServerConfig[];
}

/** The network configuration given at creation. */
export interface NetworkConfiguration {
  /** Fixed TURN servers: connections are relay-only through exactly these. */
  readonly turn?: TurnConfiguration;
  /** The signaling proxy used by `proxiedUrl`, `fetch` and `WebSocket`. */
  readonly proxy?: ProxyConfiguration;
}

/** A WebSocket constructor (the browser's, or e.g. the `ws` package's in Node). */
export type WebSocketConstructor = new (
  url: string | URL,
  protocols?: string | string[],
) => WebSocket;

/** An RTCPeerConnection constructor (the browser's, or a Node WebRTC stack's). */
export type PeerConnectionConstructor = new (configuration?: RTCConfiguration) => RTCPeerConnection;

/** Timeouts of `auto` mode. */
export interface AutoFallbackConfiguration {
  /** How long the direct attempt may take before the switch to relay; default 5000. */
  readonly directTimeoutMs?: number;
  /** How long the relay attempt may take before giving up; default 15000. */
  readonly relayTimeoutMs?: number;
}

/**
 * Recovery of relayed connections (`force-udp`, `force-tcp`) after ICE is lost: fresh
 * credentials, `setConfiguration`, `restartIce()`, bounded attempts.
 */
export interface ReconnectConfiguration {
  /** How long ICE may stay `disconnected` before a restart; default 5000. */
  readonly disconnectedTimeoutMs?: number;
  /** How long one attempt may take to reconnect; default 15000. */
  readonly attemptTimeoutMs?: number;
  /** Delays before the 2nd, 3rd, … attempt; default [1000, 2000, 4000, 8000] (5 attempts). */
  readonly retryDelaysMs?: readonly number[];
}

/** Options of `createClient`. */
export interface ClientOptions {
  readonly networkConfiguration?: NetworkConfiguration;
  /**
   * `web` (default) or `mobile`: the restrictions of native SDKs on the TURN configuration
   * (one server, one `turn:` URL at an IPv4 address over UDP, a realm).
   */
  readonly profile?: 'web' | 'mobile';
  /** Where credentials come from when a proxy mode is on. */
  readonly credentials?: CredentialsSource;
  /** A mode to start with (same as calling `startProxyServer` right away). */
  readonly mode?: ProxyModeInput;
  readonly autoFallback?: AutoFallbackConfiguration;
  /**
   * After credentials are refreshed on a live connection, also call `restartIce()` so that the
   * relay allocation moves onto the new credentials (the app's `negotiationneeded` handler must
   * renegotiate). Default true.
   */
  readonly restartIceOnRefresh?: boolean;
  /** Reconnect relayed connections after ICE is lost (default on); `false` turns it off. */
  readonly reconnect?: boolean | ReconnectConfiguration;
  /** A `fetch` implementation; default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /** A WebSocket implementation; default `globalThis.WebSocket` (absent in Node 20). */
  readonly WebSocket?: WebSocketConstructor;
  /** An RTCPeerConnection implementation; default `globalThis.RTCPeerConnection`. */
  readonly RTCPeerConnection?: PeerConnectionConstructor;
}

/** Options after validation and defaults. */
export interface ResolvedClientOptions {
  readonly staticServers: readonly ValidatedIceServer[] | undefined;
  readonly mobileProxy: MobileMediaProxy | undefined;
  readonly proxy: ResolvedProxy | undefined;
  readonly credentials: CredentialsSource | undefined;
  readonly mode: ProxyMode | undefined;
  readonly directTimeoutMs: number;
  readonly relayTimeoutMs: number;
  readonly restartIceOnRefresh: boolean;
  /** Undefined when reconnection is off. */
  readonly reconnect: IceRecoveryOptions | undefined;
  readonly fetch: typeof fetch | undefined;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly RTCPeerConnection: PeerConnectionConstructor | undefined;
}

/** Default of `autoFallback.directTimeoutMs`. */
export const DEFAULT_DIRECT_TIMEOUT_MS = 5000;
/** Default of `autoFallback.relayTimeoutMs`. */
export const DEFAULT_RELAY_TIMEOUT_MS = 15_000;

const NC = 'networkConfiguration';

function invalid(field: string, reason: string): never {
  throw new CloudProxyError(ClientErrorCode.InvalidOption, `${field}: ${reason}`, { field });
}

function optionalRecord(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) invalid(field, `expected an object, got ${describeValue(value)}`);
  return value;
}

function timeout(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    invalid(field, `expected a positive number of milliseconds, got ${describeValue(value)}`);
  }
  return value;
}

function delays(value: unknown, field: string): readonly number[] {
  if (value === undefined) return DEFAULT_RETRY_DELAYS_MS;
  const ok =
    Array.isArray(value) &&
    value.length <= 20 &&
    value.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
  if (!ok)
    invalid(field, `expected at most 20 delays in milliseconds ≥ 0, got ${describeValue(value)}`);
  return [...(value as number[])];
}

function resolveReconnect(value: unknown): IceRecoveryOptions | undefined {
  if (value === false) return undefined;
  const r = value === true ? undefined : optionalRecord(value, 'reconnect');
  return {
    disconnectedTimeoutMs: timeout(
      r?.['disconnectedTimeoutMs'],
      'reconnect.disconnectedTimeoutMs',
      DEFAULT_DISCONNECTED_TIMEOUT_MS,
    ),
    attemptTimeoutMs: timeout(
      r?.['attemptTimeoutMs'],
      'reconnect.attemptTimeoutMs',
      DEFAULT_ATTEMPT_TIMEOUT_MS,
    ),
    retryDelaysMs: delays(r?.['retryDelaysMs'], 'reconnect.retryDelaysMs'),
  };
}

function functionOption(value: unknown, field: string): unknown {
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    invalid(field, `expected a function, got ${describeValue(value)}`);
  return value;
}

function resolveTurn(
  network: Record<string, unknown> | undefined,
  profile: unknown,
): { servers: ValidatedIceServer[] | undefined; mobile: MobileMediaProxy | undefined } {
  const turn = optionalRecord(network?.['turn'], `${NC}.turn`);
  if (profile !== undefined && profile !== 'web' && profile !== 'mobile') {
    invalid('profile', `expected 'web' or 'mobile', got ${describeValue(profile)}`);
  }
  if (turn === undefined) return { servers: undefined, mobile: undefined };
  const field = `${NC}.turn.iceServers`;
  const mobile =
    profile === 'mobile' ? validateMobileMediaProxy(turn['iceServers'], field) : undefined;
  return { servers: validateIceServers(turn['iceServers'], field), mobile };
}

/**
 * Validates every option at once and fills in defaults. Throws a {@link CloudProxyError} whose
 * `field` and message name the first bad option.
 */
export function resolveClientOptions(options: unknown = {}): ResolvedClientOptions {
  const opts = optionalRecord(options, 'options') ?? {};
  const network = optionalRecord(opts['networkConfiguration'], NC);
  const { servers, mobile } = resolveTurn(network, opts['profile']);
  const proxyValue = network?.['proxy'];
  const proxy =
    proxyValue === undefined ? undefined : resolveProxyConfiguration(proxyValue, `${NC}.proxy`);
  const credentials =
    opts['credentials'] === undefined ? undefined : validateCredentialsSource(opts['credentials']);
  const auto = optionalRecord(opts['autoFallback'], 'autoFallback');
  const restart = opts['restartIceOnRefresh'];
  if (restart !== undefined && typeof restart !== 'boolean') {
    invalid('restartIceOnRefresh', `expected a boolean, got ${describeValue(restart)}`);
  }
  return {
    staticServers: servers,
    mobileProxy: mobile,
    proxy,
    credentials,
    mode: opts['mode'] === undefined ? undefined : resolveMode(opts['mode'], 'mode'),
    directTimeoutMs: timeout(
      auto?.['directTimeoutMs'],
      'autoFallback.directTimeoutMs',
      DEFAULT_DIRECT_TIMEOUT_MS,
    ),
    relayTimeoutMs: timeout(
      auto?.['relayTimeoutMs'],
      'autoFallback.relayTimeoutMs',
      DEFAULT_RELAY_TIMEOUT_MS,
    ),
    restartIceOnRefresh: restart ?? true,
    reconnect: resolveReconnect(opts['reconnect']),
    fetch: functionOption(opts['fetch'], 'fetch') as typeof fetch | undefined,
    WebSocket: functionOption(opts['WebSocket'], 'WebSocket') as WebSocketConstructor | undefined,
    RTCPeerConnection: functionOption(opts['RTCPeerConnection'], 'RTCPeerConnection') as
      PeerConnectionConstructor | undefined,
  };
}
