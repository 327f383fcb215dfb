/**
 * Resolves and validates TURN options in one place: every default filled, every value checked.
 * @module
 */
import { InvalidOptionError } from './errors.js';
import type {
  AuthOptions,
  PeerPolicyOptions,
  RelayAddressOptions,
  TurnCoreOptions,
  TurnServerOptions,
} from './options.js';
import {
  canonicalIp,
  checkRealm,
  checkSoftware,
  checkUser,
  nonEmpty,
  nonNegativeInt,
  port,
  positiveInt,
} from './option-checks.js';
import { parseIpRange } from './peer-policy/ip-range.js';

/** Defaults of the core options (see the TSDoc of {@link TurnCoreOptions}). */
export const CORE_DEFAULTS = {
  realm: 'cloudproxy',
  software: 'cloudproxy',
  /** coturn `--stale-nonce` default. */
  nonceLifetimeS: 600,
  /** RFC 8656 §7.2. */
  defaultLifetimeS: 600,
  /** coturn `--max-allocate-lifetime` default. */
  maxLifetimeS: 3600,
  /** RFC 8656 §9. */
  permissionLifetimeS: 300,
  /** RFC 8656 §12. */
  channelLifetimeS: 600,
  userQuota: 0,
  totalQuota: 0,
  /** Off: many users may share one NAT address. */
  sourceQuota: 0,
  /** Bounds the state one allocation can make the server keep (a browser uses a handful). */
  permissionQuota: 500,
  channelQuota: 500,
  maxBps: 0,
  /** RFC 8489 §6.3.1: Ti (39.5 s) plus margin. */
  allocateCacheMs: 40_000,
  authRejectRatePerS: 100,
  /** Size of the random nonce secret generated when none is given. */
  nonceSecretBytes: 32,
} as const;

/** Defaults of the Node server options (see the TSDoc of {@link TurnServerOptions}). */
export const SERVER_DEFAULTS = {
  listeningIps: ['0.0.0.0', '::'],
  /** RFC 8489 §9: 3478 for STUN/TURN over UDP and TCP. */
  listeningPort: 3478,
  /** RFC 8489 §9: 5349 for STUN/TURN over TLS. */
  tlsListeningPort: 5349,
  /** RFC 8656 §3.12 recommends the dynamic range 49152-65535. */
  minPort: 49152,
  maxPort: 65535,
  maxTcpConnections: 10_000,
  tcpIdleTimeoutS: 60,
  drainTimeoutS: 30,
} as const;

/** Smallest accepted `nonceSecret`, in bytes. */
export const MIN_NONCE_SECRET_BYTES = 16;

/** Authentication settings with every default filled. Users are a Map: no prototype keys. */
export interface ResolvedAuthOptions {
  readonly users: ReadonlyMap<string, string>;
  readonly staticAuthSecrets: readonly string[];
  readonly noAuth: boolean;
}

/** Peer policy settings with every default filled; ranges are validated and kept as text. */
export interface ResolvedPeerPolicyOptions {
  readonly allowLoopbackPeers: boolean;
  readonly allowedPeerIps: readonly string[];
  readonly deniedPeerIps: readonly string[];
}

/** Core options after {@link resolveCoreOptions}: nothing optional, everything validated. */
export interface ResolvedCoreOptions {
  readonly realm: string;
  readonly auth: ResolvedAuthOptions;
  readonly software: string | false;
  readonly nonceLifetimeS: number;
  readonly nonceSecret: Uint8Array;
  readonly defaultLifetimeS: number;
  readonly maxLifetimeS: number;
  readonly permissionLifetimeS: number;
  readonly channelLifetimeS: number;
  readonly userQuota: number;
  readonly totalQuota: number;
  readonly sourceQuota: number;
  readonly permissionQuota: number;
  readonly channelQuota: number;
  readonly maxBps: number;
  readonly peerPolicy: ResolvedPeerPolicyOptions;
  readonly allocateCacheMs: number;
  readonly authRejectRatePerS: number;
}

/** A relay address after resolution; `externalIp` undefined when not behind NAT. */
export interface ResolvedRelayAddress {
  readonly relayIp: string;
  readonly externalIp: string | undefined;
}

/** Server options after {@link resolveServerOptions}; IP addresses in canonical text. */
export interface ResolvedServerOptions extends ResolvedCoreOptions {
  readonly listeningIps: readonly string[];
  readonly listeningPort: number;
  readonly tlsListeningPort: number;
  readonly relayAddresses: readonly ResolvedRelayAddress[];
  readonly minPort: number;
  readonly maxPort: number;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly noUdp: boolean;
  readonly noTcp: boolean;
  readonly noTls: boolean;
  readonly maxTcpConnections: number;
  readonly tcpIdleTimeoutS: number;
  readonly drainTimeoutS: number;
  /** Validated ranges of PROXY protocol senders, as text; empty when none. */
  readonly proxyProtocolFrom: readonly string[];
}

/**
 * Fills the defaults of the core options and validates them. A random 32-byte `nonceSecret` is
 * drawn from `globalThis.crypto.getRandomValues` when none is given.
 * @throws InvalidOptionError naming the option and the reason; in particular when no
 *   authentication is configured and `auth.noAuth` is not set (no open relays by accident).
 */
export function resolveCoreOptions(opts: TurnCoreOptions): ResolvedCoreOptions {
  const realm = opts.realm ?? CORE_DEFAULTS.realm;
  checkRealm(realm);
  const software = opts.software ?? CORE_DEFAULTS.software;
  checkSoftware(software);
  const lifetimes = {
    nonceLifetimeS: positiveInt(
      'nonceLifetimeS',
      opts.nonceLifetimeS,
      CORE_DEFAULTS.nonceLifetimeS,
    ),
    defaultLifetimeS: positiveInt(
      'defaultLifetimeS',
      opts.defaultLifetimeS,
      CORE_DEFAULTS.defaultLifetimeS,
    ),
    maxLifetimeS: positiveInt('maxLifetimeS', opts.maxLifetimeS, CORE_DEFAULTS.maxLifetimeS),
    permissionLifetimeS: positiveInt(
      'permissionLifetimeS',
      opts.permissionLifetimeS,
      CORE_DEFAULTS.permissionLifetimeS,
    ),
    channelLifetimeS: positiveInt(
      'channelLifetimeS',
      opts.channelLifetimeS,
      CORE_DEFAULTS.channelLifetimeS,
    ),
  };
  if (lifetimes.defaultLifetimeS > lifetimes.maxLifetimeS) {
    throw new InvalidOptionError(
      'defaultLifetimeS',
      `must be ≤ maxLifetimeS, got ${lifetimes.defaultLifetimeS} > ${lifetimes.maxLifetimeS}`,
    );
  }
  return {
    realm,
    auth: resolveAuth(opts.auth),
    software,
    nonceSecret: resolveNonceSecret(opts.nonceSecret),
    ...lifetimes,
    userQuota: nonNegativeInt('userQuota', opts.userQuota, CORE_DEFAULTS.userQuota),
    totalQuota: nonNegativeInt('totalQuota', opts.totalQuota, CORE_DEFAULTS.totalQuota),
    sourceQuota: nonNegativeInt('sourceQuota', opts.sourceQuota, CORE_DEFAULTS.sourceQuota),
    permissionQuota: nonNegativeInt(
      'permissionQuota',
      opts.permissionQuota,
      CORE_DEFAULTS.permissionQuota,
    ),
    channelQuota: nonNegativeInt('channelQuota', opts.channelQuota, CORE_DEFAULTS.channelQuota),
    maxBps: nonNegativeInt('maxBps', opts.maxBps, CORE_DEFAULTS.maxBps),
    peerPolicy: resolvePeerPolicy(opts.peerPolicy ?? {}),
    allocateCacheMs: nonNegativeInt(
      'allocateCacheMs',
      opts.allocateCacheMs,
      CORE_DEFAULTS.allocateCacheMs,
    ),
    authRejectRatePerS: positiveInt(
      'authRejectRatePerS',
      opts.authRejectRatePerS,
      CORE_DEFAULTS.authRejectRatePerS,
    ),
  };
}

/**
 * Fills the defaults of the server options (the core's included) and validates them. Relay
 * addresses default to the listening addresses, a wildcard listener relaying on the same wildcard.
 * @throws InvalidOptionError naming the option and the reason.
 */
export function resolveServerOptions(opts: TurnServerOptions): ResolvedServerOptions {
  const core = resolveCoreOptions(opts);
  const listeningIps = (opts.listeningIps ?? SERVER_DEFAULTS.listeningIps).map((ip, i) =>
    canonicalIp(`listeningIps[${i}]`, ip),
  );
  nonEmpty('listeningIps', listeningIps);
  const relayAddresses =
    opts.relayAddresses === undefined
      ? listeningIps.map((relayIp) => ({ relayIp, externalIp: undefined }))
      : opts.relayAddresses.map(resolveRelayAddress);
  nonEmpty('relayAddresses', relayAddresses);
  const ports = resolvePorts(opts);
  const tls = resolveTls(opts);
  const transports = resolveTransports(opts, tls.certFile !== undefined);
  if (
    transports.tlsEnabled &&
    !transports.noTcp &&
    ports.listeningPort === ports.tlsListeningPort &&
    ports.listeningPort !== 0
  ) {
    throw new InvalidOptionError(
      'tlsListeningPort',
      `must differ from listeningPort, both are ${ports.listeningPort}`,
    );
  }
  return {
    ...core,
    listeningIps,
    relayAddresses,
    ...ports,
    ...tls,
    noUdp: transports.noUdp,
    noTcp: transports.noTcp,
    noTls: transports.noTls,
    maxTcpConnections: positiveInt(
      'maxTcpConnections',
      opts.maxTcpConnections,
      SERVER_DEFAULTS.maxTcpConnections,
    ),
    tcpIdleTimeoutS: positiveInt(
      'tcpIdleTimeoutS',
      opts.tcpIdleTimeoutS,
      SERVER_DEFAULTS.tcpIdleTimeoutS,
    ),
    drainTimeoutS: nonNegativeInt(
      'drainTimeoutS',
      opts.drainTimeoutS,
      SERVER_DEFAULTS.drainTimeoutS,
    ),
    proxyProtocolFrom: resolveRanges('proxyProtocolFrom', opts.proxyProtocolFrom),
  };
}

function resolveAuth(auth: AuthOptions): ResolvedAuthOptions {
  const users = new Map<string, string>();
  for (const [name, password] of Object.entries(auth.users ?? {})) {
    checkUser(name, password);
    users.set(name, password);
  }
  const staticAuthSecrets = [...(auth.staticAuthSecrets ?? [])];
  staticAuthSecrets.forEach((secret, i) => {
    if (secret.length === 0) {
      throw new InvalidOptionError(`auth.staticAuthSecrets[${i}]`, 'must be a non-empty string');
    }
  });
  const noAuth = auth.noAuth ?? false;
  const hasCredentials = users.size > 0 || staticAuthSecrets.length > 0;
  if (!hasCredentials && !noAuth) {
    throw new InvalidOptionError(
      'auth',
      'no users or static-auth-secret configured; refusing to start an open relay (use --no-auth only for tests)',
    );
  }
  if (hasCredentials && noAuth) {
    throw new InvalidOptionError(
      'auth.noAuth',
      'cannot be combined with users or static auth secrets',
    );
  }
  return { users, staticAuthSecrets, noAuth };
}

function resolvePeerPolicy(policy: PeerPolicyOptions): ResolvedPeerPolicyOptions {
  const allowedPeerIps = [...(policy.allowedPeerIps ?? [])];
  const deniedPeerIps = [...(policy.deniedPeerIps ?? [])];
  allowedPeerIps.forEach((text, i) => parseIpRange(text, `peerPolicy.allowedPeerIps[${i}]`));
  deniedPeerIps.forEach((text, i) => parseIpRange(text, `peerPolicy.deniedPeerIps[${i}]`));
  return { allowLoopbackPeers: policy.allowLoopbackPeers ?? false, allowedPeerIps, deniedPeerIps };
}

function resolveRanges(name: string, ranges: readonly string[] | undefined): string[] {
  const list = [...(ranges ?? [])];
  list.forEach((text, i) => parseIpRange(text, `${name}[${i}]`));
  return list;
}

function resolveNonceSecret(secret: Uint8Array | undefined): Uint8Array {
  if (secret === undefined) {
    return globalThis.crypto.getRandomValues(new Uint8Array(CORE_DEFAULTS.nonceSecretBytes));
  }
  if (secret.length < MIN_NONCE_SECRET_BYTES) {
    throw new InvalidOptionError(
      'nonceSecret',
      `must be at least ${MIN_NONCE_SECRET_BYTES} bytes, got ${secret.length}`,
    );
  }
  return secret.slice();
}

function resolvePorts(opts: TurnServerOptions): {
  listeningPort: number;
  tlsListeningPort: number;
  minPort: number;
  maxPort: number;
} {
  const listeningPort = port('listeningPort', opts.listeningPort, SERVER_DEFAULTS.listeningPort, 0);
  const tlsListeningPort = port(
    'tlsListeningPort',
    opts.tlsListeningPort,
    SERVER_DEFAULTS.tlsListeningPort,
    0,
  );
  const minPort = port('minPort', opts.minPort, SERVER_DEFAULTS.minPort, 1);
  const maxPort = port('maxPort', opts.maxPort, SERVER_DEFAULTS.maxPort, 1);
  if (minPort > maxPort) {
    throw new InvalidOptionError('minPort', `must be ≤ maxPort, got ${minPort} > ${maxPort}`);
  }
  return { listeningPort, tlsListeningPort, minPort, maxPort };
}

function resolveTls(opts: TurnServerOptions): {
  certFile: string | undefined;
  keyFile: string | undefined;
} {
  const { certFile, keyFile } = opts;
  if (certFile === '' || keyFile === '') {
    throw new InvalidOptionError(certFile === '' ? 'certFile' : 'keyFile', 'must not be empty');
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidOptionError(
      certFile === undefined ? 'keyFile' : 'certFile',
      `given without ${certFile === undefined ? 'certFile' : 'keyFile'}; TLS needs both`,
    );
  }
  return { certFile, keyFile };
}

function resolveTransports(
  opts: TurnServerOptions,
  hasCertificate: boolean,
): { noUdp: boolean; noTcp: boolean; noTls: boolean; tlsEnabled: boolean } {
  const noUdp = opts.noUdp ?? false;
  const noTcp = opts.noTcp ?? false;
  const noTls = opts.noTls ?? false;
  const tlsEnabled = !noTls && hasCertificate;
  if (noUdp && noTcp && !tlsEnabled) {
    throw new InvalidOptionError(
      'noUdp',
      'with noTcp and no TLS (noTls or no certFile/keyFile) leaves no listener enabled',
    );
  }
  return { noUdp, noTcp, noTls, tlsEnabled };
}

function resolveRelayAddress(relay: RelayAddressOptions, i: number): ResolvedRelayAddress {
  const relayIp = canonicalIp(`relayAddresses[${i}].relayIp`, relay.relayIp);
  if (relay.externalIp === undefined) {
    return { relayIp, externalIp: undefined };
  }
  const externalIp = canonicalIp(`relayAddresses[${i}].externalIp`, relay.externalIp);
  if (relayIp.includes(':') !== externalIp.includes(':')) {
    throw new InvalidOptionError(
      `relayAddresses[${i}].externalIp`,
      `${externalIp} is not of the same address family as relayIp ${relayIp}`,
    );
  }
  return { relayIp, externalIp };
}
