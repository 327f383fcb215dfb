/**
 * @cloudproxy/turn: the TURN server's Sans-IO core (RFC 8656, RFC 8489 §9.2, RFC 6156).
 * The Node driver is exported from `@cloudproxy/turn/node`.
 * @module
 */
export { TurnServerCore } from './server-core.js';
export type { TurnCoreDeps } from './server-core.js';
export { FakeClock, monotonicClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export type {
  AuthOptions,
  IpRangeText,
  PeerPolicyOptions,
  RelayAddressOptions,
  TurnCoreOptions,
  TurnServerOptions,
} from './options.js';
export { resolveCoreOptions, resolveServerOptions } from './options-resolve.js';
export type { ResolvedCoreOptions, ResolvedServerOptions } from './options-resolve.js';
export { Authenticator, parseRestUsername, restPassword } from './auth.js';
export { NonceIssuer } from './nonce.js';
export { grantLifetimeS } from './lifetime.js';
export { createStats } from './stats.js';
export type {
  AdmissionDecision,
  AllocationRequestInfo,
  AllocationSnapshot,
  AllocationUsage,
  RelayHooks,
} from './hooks.js';
export type { TurnStats } from './stats.js';
export { TRANSPORTS } from './types.js';
export type {
  ClientRef,
  ClientSink,
  IgnoreReason,
  RelayBinding,
  RelayBoundResult,
  RelayRequest,
  RelaySink,
  Transport,
  TurnAction,
  TurnEvent,
} from './types.js';
export type { Allocation, ChannelBinding, Permission } from './allocation.js';
export type { DataIndication } from './relay-path.js';
export { createPeerPolicy } from './peer-policy/peer-policy.js';
export type { PeerPolicy, PeerDecision } from './peer-policy/peer-policy.js';
export { InvalidOptionError, ProxyProtocolError, TURN_ERROR_CODES } from './errors.js';
export {
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_BYTES,
  PROXY_V2_SIGNATURE,
  parseProxyHeader,
} from './proxy-protocol.js';
export type { ProxyEndpoint, ProxyHeader, ProxyParseResult } from './proxy-protocol.js';
