/**
 * @cloudproxy/proxy: the HTTPS/WebSocket signaling reverse proxy. `/{host[:port]}/{path}` is
 * forwarded to `https://{host}[:port]/{path}` for allowlisted hosts, with connect-time SSRF
 * checks, CORS, limits, an access log and metrics. Usable as a middleware or a standalone server.
 * @module
 */
export { createSignalingProxy } from './signaling-proxy.js';
export type { SignalingProxy } from './signaling-proxy.js';
export { createProxyServer } from './proxy-server.js';
export type { ProxyServer } from './proxy-server.js';
export { formatAccessLine } from './access-log.js';
export type {
  AccessLogEntry,
  CorsOptions,
  ProxyLimits,
  ProxyLogger,
  ProxyServerOptions,
  ResolvedAddress,
  SignalingProxyOptions,
  TlsCredentials,
  UpstreamLookup,
} from './options.js';
export { PRESETS } from './presets.js';
export {
  InvalidProxyOptionError,
  PROXY_ERROR_CODES,
  PROXY_THROWN_ERROR_CODES,
  ProxyRefusal,
} from './errors.js';
export type { ProxyErrorCode, ProxyErrorCodeEntry } from './errors.js';
export { DEFAULT_LIMITS } from './resolve-options.js';
export type { ResolvedLimits } from './resolve-options.js';
export { createHostMatcher } from './host-matcher.js';
export type { HostMatcher } from './host-matcher.js';
export { parseProxyPath } from './proxy-path.js';
export type { ParsedProxyPath, UpstreamTarget } from './proxy-path.js';
