/**
 * Inputs and actions of the Sans-IO TURN core.
 * @module
 */
import type { TransportAddress } from '@cloudproxy/stun';

/** Transport between the client and the server. RFC 8656 §3.1. */
export type Transport = 'udp' | 'tcp' | 'tls';

/** Index of each transport in per-transport counter arrays. */
export const TRANSPORT_INDEX: Readonly<Record<Transport, 0 | 1 | 2>> = { udp: 0, tcp: 1, tls: 2 };
export const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];

/**
 * ClientRef identifies one client 5-tuple (RFC 8656 §2). The driver creates it and may extend it
 * with its own fields (a socket); the core treats it as opaque apart from these fields.
 */
export interface ClientRef {
  /** Unique for the 5-tuple: e.g. "u0|192.0.2.1|5000" for UDP, "t17" for a TCP connection. */
  readonly key: string;
  readonly transport: Transport;
  /** The client's address as the server sees it (after PROXY protocol, when used). */
  readonly remote: TransportAddress;
  /** The server address the client reached. */
  readonly local: TransportAddress;
  /** Where the driver sends to this client; the core never calls it, it only hands it back. */
  readonly sink: ClientSink;
}

/** ClientSink is the driver's way to reach one client (a UDP socket + address, or a TCP stream). */
export interface ClientSink {
  /**
   * Sends a STUN message or a whole frame as it is. The driver may keep `data` until the send
   * completes (a UDP send, a stream write at the end of the tick): callers hand over fresh bytes.
   */
  send(data: Uint8Array): void;
  /** Sends `payload` as ChannelData on `channelNumber` (padded over TCP/TLS, RFC 8656 §12.5). */
  sendChannelData(channelNumber: number, payload: Uint8Array): void;
}

/** A relayed transport address bound by the driver. */
export interface RelayBinding {
  /** Driver-chosen id of the relay socket. */
  readonly relayId: number;
  /** The address the socket is bound to (what peers send to, before NAT mapping). */
  readonly local: TransportAddress;
  /** The address advertised in XOR-RELAYED-ADDRESS (external IP when behind NAT). */
  readonly advertised: TransportAddress;
  /** Where the driver sends to peers from this relay; the core never calls it. */
  readonly sink: RelaySink;
}

/** RelaySink sends datagrams to peers from one relay socket. */
export interface RelaySink {
  send(data: Uint8Array, port: number, address: string): void;
}

/** What the core asks the driver to bind for an Allocate. */
export interface RelayRequest {
  /** Correlates the `handleRelayBound` answer. */
  readonly requestId: number;
  /** Families to bind, in order; the second is optional (dual allocation, RFC 8656 §7.2). */
  readonly families: readonly (4 | 6)[];
  /** EVEN-PORT: the (first) relay port must be even. RFC 8656 §7.2. */
  readonly evenPort: boolean;
  /** EVEN-PORT with R bit: also reserve port+1 for a later Allocate. RFC 8656 §7.2. */
  readonly reserveNextPort: boolean;
}

/** The driver's answer to a RelayRequest. */
export interface RelayBoundResult {
  readonly requestId: number;
  /** One binding per requested family that could be bound, in the requested order. */
  readonly relays: readonly RelayBinding[];
  /** Families that could not be bound (no relay address of that family). */
  readonly unsupportedFamilies: readonly (4 | 6)[];
  /** The socket reserved on port+1, when reserveNextPort was asked and it could be bound. */
  readonly reserved?: RelayBinding | undefined;
  /** Set when binding failed for lack of ports or sockets: the Allocate fails with 508. */
  readonly insufficientCapacity?: boolean | undefined;
}

/** Why the core dropped an input without answering. */
export type IgnoreReason =
  | 'malformed'
  | 'bad-fingerprint'
  | 'unsupported-method'
  | 'not-a-request'
  | 'unknown-indication'
  | 'no-allocation'
  | 'no-permission'
  | 'no-channel'
  | 'peer-denied'
  | 'rate-limited'
  | 'bandwidth-exceeded'
  | 'allocate-pending'
  | 'unknown-attribute-in-indication'
  | 'dont-fragment-unsupported';

/** Structured events for logs and metrics (past tense). */
export type TurnEvent =
  | {
      readonly type: 'allocation.created';
      readonly client: ClientRef;
      readonly username: string;
      readonly relays: readonly TransportAddress[];
      readonly lifetimeS: number;
    }
  | {
      readonly type: 'allocation.deleted';
      readonly client: ClientRef;
      readonly username: string;
      readonly reason: 'expired' | 'refresh-zero' | 'client-closed' | 'shutdown' | 'revoked';
      readonly bytesFromClient: number;
      readonly bytesToClient: number;
      readonly durationMs: number;
    }
  | {
      readonly type: 'request.rejected';
      readonly client: ClientRef;
      readonly method: number;
      readonly code: number;
      readonly cause: string;
    }
  | { readonly type: 'auth.failed'; readonly client: ClientRef; readonly cause: string };

/** TurnAction is one thing the driver must do, in order. */
export type TurnAction =
  | { readonly type: 'send-client'; readonly client: ClientRef; readonly data: Uint8Array }
  | {
      readonly type: 'send-peer';
      readonly relayId: number;
      readonly peer: TransportAddress;
      readonly data: Uint8Array;
    }
  | { readonly type: 'open-relay'; readonly client: ClientRef; readonly request: RelayRequest }
  | { readonly type: 'close-relay'; readonly relayId: number }
  | { readonly type: 'close-client'; readonly client: ClientRef }
  | { readonly type: 'emit'; readonly event: TurnEvent }
  | { readonly type: 'ignore'; readonly reason: IgnoreReason };
