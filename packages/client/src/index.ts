/**
 * @cloudproxy/client: the client SDK of cloudproxy. Network configuration (TURN servers and a
 * signaling proxy) validated at creation, cloud proxy modes (`startProxyServer`), credentials
 * from the control plane refreshed during calls, the `auto` fallback from direct to relay over
 * TLS, and a `fetch`/`WebSocket` that go through the signaling proxy. Browser-safe: no Node
 * built-ins. STUN/TURN URIs per RFC 7064 and RFC 7065.
 * @module
 */
export { CloudProxyClient, createClient } from './client.js';
export type { ClientConnectionState, RtcConfigurationOptions } from './client.js';
export type {
  ClientEventMap,
  ClientEventName,
  CredentialsRefreshedEvent,
  FallbackEvent,
  ProxyConnectedEvent,
  ReconnectedEvent,
  ReconnectingEvent,
} from './client-events.js';
export type { Handler } from './emitter.js';
export {
  CLIENT_ERROR_CODES,
  ClientErrorCode,
  CloudProxyError,
  isCloudProxyError,
} from './errors.js';
export type { ClientErrorCodeEntry, CloudProxyErrorOptions } from './errors.js';
export { MODE_ALIASES, ProxyMode, resolveMode } from './modes.js';
export type { ProxyModeInput } from './modes.js';
export {
  DEFAULT_DIRECT_TIMEOUT_MS,
  DEFAULT_RELAY_TIMEOUT_MS,
  resolveClientOptions,
} from './options.js';
export type {
  AutoFallbackConfiguration,
  ReconnectConfiguration,
  ClientOptions,
  NetworkConfiguration,
  PeerConnectionConstructor,
  ResolvedClientOptions,
  TurnConfiguration,
  WebSocketConstructor,
} from './options.js';
export type {
  CredentialsCallback,
  CredentialsEndpoint,
  CredentialsSource,
  IssuedCredentials,
} from './credentials.js';
export type { IceServerConfig } from './ice-servers.js';
export { DEFAULT_STUN_PORT, DEFAULT_TURNS_PORT, parseIceUrl } from './ice-url.js';
export type { IceHostKind, IceScheme, ParsedIceUrl, RelayTransport } from './ice-url.js';
export { MEDIA_PROXY_PREFIX, validateMobileMediaProxy } from './mobile-profile.js';
export type { MobileMediaProxy } from './mobile-profile.js';
export { rewriteUrl } from './proxy-url.js';
export type { ProxyConfiguration, ResolvedProxy } from './proxy-url.js';
export type { ConnectionPhase } from './rtc-config.js';
export type { FallbackReason } from './auto-fallback.js';
export {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_DISCONNECTED_TIMEOUT_MS,
  DEFAULT_RETRY_DELAYS_MS,
} from './ice-recovery.js';
export type { RecoveryReason } from './ice-recovery.js';
