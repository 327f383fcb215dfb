/**
 * @cloudproxy/turn/node: the Node driver of the TURN server (UDP, TCP and TLS listeners).
 * @module
 */
export { TurnServer, assertNever } from './turn-server.js';
export type { ListeningAddress, TurnServerDeps } from './turn-server.js';
export { createTurnMetrics, serveMetrics } from './metrics.js';
export type { DriverGauges } from './metrics.js';
export {
  PROXY_HEADER_TIMEOUT_MS,
  createProxySources,
  proxiedClient,
  readProxyHeader,
} from './proxy-protocol-reader.js';
export type { ProxySources } from './proxy-protocol-reader.js';
export type { PortHandover, StreamDropReason } from './stream-connections.js';
export type { HttpServe } from './native-streams.js';
export type { NativeTlsPort } from './native-tls-port.js';
export { silentLogger } from './logger.js';
export { TLS12_CIPHERS, TLS_SERVER_POLICY, withTlsPolicy } from './tls-policy.js';
export type { Logger, LogMethod } from './logger.js';
