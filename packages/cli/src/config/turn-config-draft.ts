/**
 * TurnConfigDraft: the options of `cloudproxy turn` as they accumulate, file first, then command line.
 * @module
 */
import { isIP } from 'node:net';
import type { RelayAddressOptions, TurnServerOptions } from '@cloudproxy/turn';
import { TurnConfigError } from './turn-config-error.js';
import type { ExternalIpValue } from './turn-option-values.js';

/** coturn's default Prometheus exporter port. */
const DEFAULT_PROMETHEUS_PORT = 9641;
/**
 * Default Prometheus exporter address: loopback, unlike coturn (all interfaces). Metrics name
 * users and peers; expose them deliberately with `--prometheus-address`.
 */
const DEFAULT_PROMETHEUS_ADDRESS = '127.0.0.1';

/** Options of the `cloudproxy turn` process itself, not of the TURN server. */
export interface TurnCliOptions {
  /** `-c` / `--config`: the turnserver.conf read before the command line. */
  readonly configFile?: string | undefined;
  /** `-l` / `--log-file`: a path, or coturn's `stdout` / `syslog`. */
  readonly logFile?: string | undefined;
  /** `-v` / `--verbose` (coturn "moderate") or `-V`: debug logging. */
  readonly verbose: boolean;
  /** `-V` / `--Verbose` (coturn "extra"): everything, per packet. */
  readonly extraVerbose: boolean;
  /** Prometheus exporter (`--prometheus`, `--prometheus-port`, `--prometheus-address`). */
  readonly prometheus: {
    readonly enabled: boolean;
    readonly port: number;
    readonly address: string;
  };
  /** `--pidfile`: where to write the process id. */
  readonly pidfile?: string | undefined;
  /** `-h` / `--help`: print the help and exit; nothing else is validated. */
  readonly help: boolean;
}

/** The result of parsing `cloudproxy turn` arguments and/or a turnserver.conf. */
export interface ParsedTurnConfig {
  readonly server: TurnServerOptions;
  readonly cli: TurnCliOptions;
  /** Things the operator should know (ignored options, unsafe file modes); the CLI logs them. */
  readonly warnings: readonly string[];
}

/** An `--external-ip` occurrence, kept with its place for error messages. */
export interface ExternalIpEntry extends ExternalIpValue {
  readonly at: string;
}

/** The mutable accumulator the option table's `apply` functions write into. */
export interface TurnConfigDraft {
  listeningIps: string[];
  listeningPort: number | undefined;
  tlsListeningPort: number | undefined;
  relayIps: string[];
  externalIps: ExternalIpEntry[];
  minPort: number | undefined;
  maxPort: number | undefined;
  realm: string | undefined;
  users: Map<string, string>;
  staticAuthSecrets: string[];
  ltCredMech: boolean;
  useAuthSecret: boolean;
  noAuth: boolean;
  software: false | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
  noUdp: boolean | undefined;
  noTcp: boolean | undefined;
  noTls: boolean | undefined;
  proxyProtocolFrom: string[];
  allowLoopbackPeers: boolean | undefined;
  allowedPeerIps: string[];
  deniedPeerIps: string[];
  userQuota: number | undefined;
  totalQuota: number | undefined;
  sourceQuota: number | undefined;
  permissionQuota: number | undefined;
  channelQuota: number | undefined;
  maxBps: number | undefined;
  dataPlane: 'auto' | 'native' | 'js' | undefined;
  dataPlaneThreads: number | undefined;
  nonceLifetimeS: number | undefined;
  maxLifetimeS: number | undefined;
  channelLifetimeS: number | undefined;
  permissionLifetimeS: number | undefined;
  drainTimeoutS: number | undefined;
  configFile: string | undefined;
  noConfigFile: boolean;
  /** `--strict-config-permissions`: a world-readable config file with secrets is an error. */
  strictConfigPermissions: boolean;
  logFile: string | undefined;
  verbose: boolean;
  extraVerbose: boolean;
  prometheus: boolean;
  prometheusPort: number;
  prometheusAddress: string;
  pidfile: string | undefined;
  help: boolean;
  warnings: string[];
}

/** Creates an empty draft: nothing set, CLI defaults filled. */
export function createTurnConfigDraft(): TurnConfigDraft {
  return {
    listeningIps: [],
    listeningPort: undefined,
    tlsListeningPort: undefined,
    relayIps: [],
    externalIps: [],
    minPort: undefined,
    maxPort: undefined,
    realm: undefined,
    users: new Map(),
    staticAuthSecrets: [],
    ltCredMech: false,
    useAuthSecret: false,
    noAuth: false,
    software: undefined,
    certFile: undefined,
    keyFile: undefined,
    noUdp: undefined,
    noTcp: undefined,
    noTls: undefined,
    proxyProtocolFrom: [],
    allowLoopbackPeers: undefined,
    allowedPeerIps: [],
    deniedPeerIps: [],
    userQuota: undefined,
    totalQuota: undefined,
    sourceQuota: undefined,
    permissionQuota: undefined,
    channelQuota: undefined,
    maxBps: undefined,
    dataPlane: undefined,
    dataPlaneThreads: undefined,
    drainTimeoutS: undefined,
    nonceLifetimeS: undefined,
    maxLifetimeS: undefined,
    channelLifetimeS: undefined,
    permissionLifetimeS: undefined,
    configFile: undefined,
    noConfigFile: false,
    strictConfigPermissions: false,
    logFile: undefined,
    verbose: false,
    extraVerbose: false,
    prometheus: false,
    prometheusPort: DEFAULT_PROMETHEUS_PORT,
    prometheusAddress: DEFAULT_PROMETHEUS_ADDRESS,
    pidfile: undefined,
    help: false,
    warnings: [],
  };
}

/**
 * Checks the options against each other and builds the result. `where` prefixes errors
 * (`cloudproxy turn` or a file name). With `--help` nothing is cross-checked.
 * @throws TurnConfigError for inconsistent authentication flags, ports or external addresses.
 */
export function finishTurnConfig(draft: TurnConfigDraft, where: string): ParsedTurnConfig {
  if (!draft.help) {
    checkAuthFlags(draft, where);
    checkPortRange(draft, where);
  }
  const server: TurnServerOptions = {
    realm: draft.realm,
    auth: {
      users: draft.users.size > 0 ? Object.fromEntries(draft.users) : undefined,
      staticAuthSecrets:
        draft.staticAuthSecrets.length > 0 ? [...draft.staticAuthSecrets] : undefined,
      noAuth: draft.noAuth || undefined,
    },
    software: draft.software,
    nonceLifetimeS: draft.nonceLifetimeS,
    maxLifetimeS: draft.maxLifetimeS,
    permissionLifetimeS: draft.permissionLifetimeS,
    channelLifetimeS: draft.channelLifetimeS,
    userQuota: draft.userQuota,
    totalQuota: draft.totalQuota,
    sourceQuota: draft.sourceQuota,
    permissionQuota: draft.permissionQuota,
    channelQuota: draft.channelQuota,
    maxBps: draft.maxBps,
    dataPlane: draft.dataPlane,
    dataPlaneThreads: draft.dataPlaneThreads,
    drainTimeoutS: draft.drainTimeoutS,
    peerPolicy: {
      allowLoopbackPeers: draft.allowLoopbackPeers,
      allowedPeerIps: draft.allowedPeerIps.length > 0 ? [...draft.allowedPeerIps] : undefined,
      deniedPeerIps: draft.deniedPeerIps.length > 0 ? [...draft.deniedPeerIps] : undefined,
    },
    listeningIps: draft.listeningIps.length > 0 ? [...draft.listeningIps] : undefined,
    listeningPort: draft.listeningPort,
    tlsListeningPort: draft.tlsListeningPort,
    relayAddresses: draft.help ? undefined : buildRelayAddresses(draft, where),
    minPort: draft.minPort,
    maxPort: draft.maxPort,
    certFile: draft.certFile,
    keyFile: draft.keyFile,
    noUdp: draft.noUdp,
    noTcp: draft.noTcp,
    noTls: draft.noTls,
    proxyProtocolFrom:
      draft.proxyProtocolFrom.length > 0 ? [...draft.proxyProtocolFrom] : undefined,
  };
  return { server, cli: cliOptions(draft), warnings: [...draft.warnings] };
}

function cliOptions(draft: TurnConfigDraft): TurnCliOptions {
  return {
    configFile: draft.configFile,
    logFile: draft.logFile,
    verbose: draft.verbose,
    extraVerbose: draft.extraVerbose,
    prometheus: {
      enabled: draft.prometheus,
      port: draft.prometheusPort,
      address: draft.prometheusAddress,
    },
    pidfile: draft.pidfile,
    help: draft.help,
  };
}

function checkAuthFlags(draft: TurnConfigDraft, where: string): void {
  const hasUsers = draft.users.size > 0;
  const hasSecrets = draft.staticAuthSecrets.length > 0;
  if (draft.noAuth && (hasUsers || hasSecrets || draft.ltCredMech || draft.useAuthSecret)) {
    throw new TurnConfigError(
      `${where}: --no-auth cannot be combined with --lt-cred-mech, --use-auth-secret, --user or --static-auth-secret`,
    );
  }
  if (draft.useAuthSecret && !hasSecrets) {
    throw new TurnConfigError(
      `${where}: --use-auth-secret needs the shared secret: add --static-auth-secret <secret>`,
    );
  }
  if (draft.ltCredMech && !hasUsers && !hasSecrets) {
    throw new TurnConfigError(
      `${where}: --lt-cred-mech needs credentials: add --user name:password, or --use-auth-secret with --static-auth-secret <secret>`,
    );
  }
  if (hasUsers && hasSecrets) {
    draft.warnings.push(
      '--user and --static-auth-secret together: coturn would accept only TURN REST credentials (the secret overrides the users); cloudproxy accepts both',
    );
  }
}

function checkPortRange(draft: TurnConfigDraft, where: string): void {
  const { minPort, maxPort } = draft;
  if (minPort !== undefined && maxPort !== undefined && minPort > maxPort) {
    throw new TurnConfigError(
      `${where}: --min-port ${minPort} is greater than --max-port ${maxPort}`,
    );
  }
}

/**
 * Turns `--relay-ip` and `--external-ip` into relay addresses, as coturn does:
 * - each `public/private` maps the relay address `private` (added if not a `--relay-ip`);
 * - a plain `public` maps every not yet mapped, non-loopback relay address of its family; without
 *   any `--relay-ip` those are the listening addresses (default `0.0.0.0` and `::`).
 * Undefined when neither is given: the server derives relays from the listening addresses.
 */
function buildRelayAddresses(
  draft: TurnConfigDraft,
  where: string,
): RelayAddressOptions[] | undefined {
  const relays = new Map<string, string | undefined>(draft.relayIps.map((ip) => [ip, undefined]));
  for (const entry of draft.externalIps) {
    if (entry.privateIp !== undefined) {
      relays.set(entry.privateIp, entry.publicIp);
    }
  }
  const plain = draft.externalIps.filter((entry) => entry.privateIp === undefined);
  if (plain.length > 0 && relays.size === 0) {
    const listening = draft.listeningIps.length > 0 ? draft.listeningIps : ['0.0.0.0', '::'];
    listening.forEach((ip) => relays.set(ip, undefined));
  }
  checkOnePlainPerFamily(plain, where);
  for (const entry of plain) {
    const targets = [...relays].filter(
      ([ip, mapped]) =>
        mapped === undefined && isIP(ip) === isIP(entry.publicIp) && !isLoopback(ip),
    );
    if (targets.length === 0) {
      throw new TurnConfigError(
        `${entry.at}: no relay address of the family of ${entry.publicIp} left to map; add --relay-ip or write public/private`,
      );
    }
    targets.forEach(([ip]) => relays.set(ip, entry.publicIp));
  }
  if (relays.size === 0) {
    return undefined;
  }
  return [...relays].map(([relayIp, externalIp]) => ({ relayIp, externalIp }));
}

function checkOnePlainPerFamily(plain: readonly ExternalIpEntry[], where: string): void {
  for (const family of [4, 6]) {
    const same = plain.filter((entry) => isIP(entry.publicIp) === family);
    if (same.length > 1) {
      throw new TurnConfigError(
        `${where}: --external-ip given ${same.length} times for IPv${family} without a private address (${same.map((e) => e.publicIp).join(', ')}); write public/private for each relay address`,
      );
    }
  }
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}
