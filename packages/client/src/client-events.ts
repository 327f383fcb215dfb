/**
 * The events a {@link CloudProxyClient} emits and their payloads.
 * @module
 */
import type { CloudProxyError } from './errors.js';
import type { RelayTransport } from './ice-url.js';
import type { ProxyMode } from './modes.js';
import type { ConnectionPhase } from './rtc-config.js';
import type { FallbackReason } from './auto-fallback.js';
import type { RecoveryReason } from './ice-recovery.js';

/** Payload of `proxy-connected`: a watched connection is up through the relay. */
export interface ProxyConnectedEvent {
  /** The mode in force; undefined for a fixed TURN configuration without a mode. */
  readonly mode: ProxyMode | undefined;
  /** How the client reaches the relay (the selected local candidate's `relayProtocol`). */
  readonly transport: RelayTransport;
  /** Milliseconds from `createPeerConnection` to this connection. */
  readonly elapsedMs: number;
  readonly peerConnection: RTCPeerConnection;
}

/** Payload of `fallback`: `auto` switched a connection from direct to relay over TLS. */
export interface FallbackEvent {
  readonly from: ConnectionPhase;
  readonly to: ConnectionPhase;
  readonly reason: FallbackReason;
  /** Milliseconds the direct attempt lasted. */
  readonly elapsedMs: number;
  readonly peerConnection: RTCPeerConnection;
}

/** Payload of `credentials-refreshed`: a watched connection got new credentials. */
export interface CredentialsRefreshedEvent {
  /** Epoch ms at which the new credentials expire. */
  readonly expiresAtMs: number | undefined;
  /** Whether an ICE restart was requested to move the relay onto the new credentials. */
  readonly iceRestarted: boolean;
  readonly peerConnection: RTCPeerConnection;
}

/** Payload of `reconnecting`: a relayed connection lost ICE and is being restarted. */
export interface ReconnectingEvent {
  /** 1 for the first attempt of this loss. */
  readonly attempt: number;
  readonly reason: RecoveryReason;
  readonly peerConnection: RTCPeerConnection;
}

/** Payload of `reconnected`: a relayed connection is up again after `reconnecting`. */
export interface ReconnectedEvent {
  /** Attempts it took. */
  readonly attempts: number;
  /** Milliseconds from the loss (ICE disconnected or failed) to the reconnection. */
  readonly elapsedMs: number;
  readonly peerConnection: RTCPeerConnection;
}

/**
 * Events of a {@link CloudProxyClient} (event name → payload):
 * - `is-using-cloud-proxy`: after each (re)connection, whether the selected candidate pair's
 *   local candidate is a relay candidate;
 * - `proxy-connected`: after a connection through the relay;
 * - `fallback`: `auto` left the direct path;
 * - `credentials-refreshed`: credentials were renewed on a live connection;
 * - `reconnecting` / `reconnected`: a relayed connection lost ICE, and an ICE restart with fresh
 *   credentials began / brought it back;
 * - `error`: a failure in the background (credential refresh, fallback, giving up after the
 *   relay attempt of `auto` failed, giving up reconnecting).
 */
export interface ClientEventMap {
  'is-using-cloud-proxy': boolean;
  'proxy-connected': ProxyConnectedEvent;
  fallback: FallbackEvent;
  'credentials-refreshed': CredentialsRefreshedEvent;
  reconnecting: ReconnectingEvent;
  reconnected: ReconnectedEvent;
  error: CloudProxyError;
}

/** The name of a client event. */
export type ClientEventName = keyof ClientEventMap;
