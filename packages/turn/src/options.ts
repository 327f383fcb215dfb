/**
 * Options of the TURN server: what an operator sets, resolved and validated in one place.
 * @module
 */

/** An IP range in CIDR form ("10.0.0.0/8", "fc00::/7") or a single address, or "a-b" address range as coturn writes it. */
export type IpRangeText = string;

/** Authentication settings. RFC 8489 §9.2 (long-term credentials), draft-uberti-behave-turn-rest (ephemeral). */
export interface AuthOptions {
  /** Static long-term users: username → password. coturn `--user name:password`. */
  readonly users?: Readonly<Record<string, string>> | undefined;
  /** Shared secrets of the TURN REST ephemeral scheme, newest first; all are accepted (rotation). coturn `--static-auth-secret`. */
  readonly staticAuthSecrets?: readonly string[] | undefined;
  /** Serve without authentication. Only for tests; the server refuses to start without auth unless this is set. coturn `--no-auth`. */
  readonly noAuth?: boolean | undefined;
}

/** Options of the Sans-IO core (`TurnServerCore`). */
export interface TurnCoreOptions {
  /** REALM; default "cloudproxy". RFC 8489 §14.9. */
  readonly realm?: string | undefined;
  readonly auth: AuthOptions;
  /** SOFTWARE attribute value, or false for none. RFC 8489 §14.14. */
  readonly software?: string | false | undefined;
  /** Nonce lifetime in seconds before a 438 (coturn `--stale-nonce`, default 600). */
  readonly nonceLifetimeS?: number | undefined;
  /** Secret keying the stateless nonces; random per process when absent. */
  readonly nonceSecret?: Uint8Array | undefined;
  /** Allocation lifetime when the client asks for none (RFC 8656 §7.2: 600 s). */
  readonly defaultLifetimeS?: number | undefined;
  /** Largest allocation lifetime granted (coturn `--max-allocate-lifetime`, default 3600). */
  readonly maxLifetimeS?: number | undefined;
  /** Permission lifetime (RFC 8656 §9: 300 s, not configurable by clients). */
  readonly permissionLifetimeS?: number | undefined;
  /** Channel binding lifetime (RFC 8656 §12: 600 s). */
  readonly channelLifetimeS?: number | undefined;
  /** Max concurrent allocations per username; 0 = unlimited (coturn `--user-quota`). */
  readonly userQuota?: number | undefined;
  /** Max concurrent allocations in total; 0 = unlimited (coturn `--total-quota`). */
  readonly totalQuota?: number | undefined;
  /** Max concurrent allocations per client IP address; 0 = unlimited (default 0; `--source-quota`). */
  readonly sourceQuota?: number | undefined;
  /** Max permissions (peer IPs) per allocation; 0 = unlimited (default 500; `--permission-quota`). */
  readonly permissionQuota?: number | undefined;
  /** Max channel bindings per allocation; 0 = unlimited (default 500; `--channel-quota`). */
  readonly channelQuota?: number | undefined;
  /** Per-allocation bandwidth cap in bytes per second; 0 = none (coturn `--max-bps`). */
  readonly maxBps?: number | undefined;
  /** Peer address policy. */
  readonly peerPolicy?: PeerPolicyOptions | undefined;
  /** How long an Allocate success is kept for retransmissions, in ms (default 40 000: RFC 8489 §6.3.1 Ti + margin). */
  readonly allocateCacheMs?: number | undefined;
  /**
   * Per-source-IP limit of 401/438 answers per second over UDP (default 100): bounds reflection
   * and password guessing. TCP/TLS clients are always answered (no spoofing; they never
   * retransmit, so a dropped challenge would hang them).
   */
  readonly authRejectRatePerS?: number | undefined;
}

/** Peer address policy: which XOR-PEER-ADDRESSes a client may relay to. */
export interface PeerPolicyOptions {
  /** Permit loopback peers (tests need it). coturn `--allow-loopback-peers`. */
  readonly allowLoopbackPeers?: boolean | undefined;
  /** Ranges allowed even though special-purpose. coturn `--allowed-peer-ip`. */
  readonly allowedPeerIps?: readonly IpRangeText[] | undefined;
  /** Extra ranges denied. coturn `--denied-peer-ip`. */
  readonly deniedPeerIps?: readonly IpRangeText[] | undefined;
}

/** One relay address, optionally mapped to a public address (coturn `--external-ip public/private`). */
export interface RelayAddressOptions {
  /** Local address relay sockets bind to. */
  readonly relayIp: string;
  /** Address advertised in XOR-RELAYED-ADDRESS, when behind NAT. */
  readonly externalIp?: string | undefined;
}

/** Options of the Node server (`TurnServer`): the core's plus sockets, TLS and operations. */
export interface TurnServerOptions extends TurnCoreOptions {
  /** Addresses to listen on (coturn `--listening-ip`, repeatable); default all IPv4 and IPv6 ("0.0.0.0", "::"). */
  readonly listeningIps?: readonly string[] | undefined;
  /** UDP and TCP port (coturn `--listening-port`, default 3478). */
  readonly listeningPort?: number | undefined;
  /** TLS port (coturn `--tls-listening-port`, default 5349). */
  readonly tlsListeningPort?: number | undefined;
  /** Relay addresses (coturn `--relay-ip` with `--external-ip`); default: derived from listening addresses. */
  readonly relayAddresses?: readonly RelayAddressOptions[] | undefined;
  /** Relay port range (coturn `--min-port`/`--max-port`, default 49152-65535). */
  readonly minPort?: number | undefined;
  readonly maxPort?: number | undefined;
  /** PEM certificate chain and private key for TLS (coturn `--cert`, `--pkey`), as file paths. */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly noUdp?: boolean | undefined;
  readonly noTcp?: boolean | undefined;
  readonly noTls?: boolean | undefined;
  /** Max simultaneous TCP/TLS client connections (default 10 000). */
  readonly maxTcpConnections?: number | undefined;
  /** Seconds an idle TCP/TLS connection without allocation is kept (default 60). */
  readonly tcpIdleTimeoutS?: number | undefined;
  /** On SIGTERM, seconds to let allocations drain before closing (default 30). */
  readonly drainTimeoutS?: number | undefined;
  /**
   * Load balancers (CIDR or address) whose TCP/TLS connections start with a PROXY protocol v1/v2
   * header naming the real client; it must come from them and is refused from anyone else.
   * Default none. cloudproxy only (coturn has no such option).
   */
  readonly proxyProtocolFrom?: readonly IpRangeText[] | undefined;
  /**
   * Which UDP data plane relays packets: 'native' (the `@cloudproxy/dataplane` addon; fails when
   * it cannot load), 'js' (the TypeScript path), or 'auto' (native when it loads, else js).
   * Default: env CLOUDPROXY_DATA_PLANE, else 'auto'. cloudproxy only. See docs/data-plane.md.
   */
  readonly dataPlane?: 'auto' | 'native' | 'js' | undefined;
  /** Worker threads of the native data plane; 0 (default) = one per CPU but one (1 on up to 2 CPUs). cloudproxy only. */
  readonly dataPlaneThreads?: number | undefined;
}
