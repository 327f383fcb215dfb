/**
 * The options of `cloudproxy turn`, each described once: coturn name, alias, kind, mapping, help.
 * @module
 */
import { alreadySo, field, flag, int, list, parsedField, pushTo, str } from './turn-option-spec.js';
import type { TurnOptionSpec } from './turn-option-spec.js';
import {
  parseExternalIpValue,
  parseIpRangeValue,
  parseIpValue,
  parseStringValue,
  parseUserValue,
} from './turn-option-values.js';
import { DATA_PLANE_OPTIONS } from './data-plane-options.js';
import { ABUSE_QUOTA_OPTIONS, STRICT_CONFIG_PERMISSIONS } from './security-options.js';

const MAX_INT32 = 2_147_483_647;
const MAX_UINT32 = 4_294_967_295;
const PORT = { valueName: '<port>', min: 0, max: 65_535 } as const;
const RELAY_PORT = { valueName: '<port>', min: 1, max: 65_535 } as const;
const SECONDS = { valueName: '<seconds>', min: 1, max: MAX_INT32 } as const;
const COUNT = { valueName: '<n>', min: 0, max: MAX_INT32 } as const;
const NO_EFFECT = 'accepted, no effect: already so';

/**
 * Every option `cloudproxy turn` supports, grouped as in `--help`. Names, aliases and value
 * syntax are coturn's; `coturnNote` says where behaviour or defaults differ. Each `apply` maps
 * the value into the draft that becomes `TurnServerOptions` (see turn-config-draft.ts).
 */
export const TURN_OPTIONS: readonly TurnOptionSpec[] = [
  // General
  str(
    'config',
    'general',
    ['<file>', 'Read this turnserver.conf first; the command line overrides and extends it.'],
    field('configFile'),
    {
      short: 'c',
      argvOnly: true,
      defaultText: 'none',
      coturnNote:
        'coturn has only -c, and searches default paths; cloudproxy reads only the file given',
    },
  ),
  flag('no-config', 'general', 'Read no config file, even with -c.', field('noConfigFile'), {
    short: 'n',
    argvOnly: true,
    coturnNote: 'coturn has only -n',
  }),
  STRICT_CONFIG_PERMISSIONS,
  flag('help', 'general', 'Print this help and exit.', field('help'), {
    short: 'h',
    argvOnly: true,
  }),
  flag('fingerprint', 'general', 'Accepted; FINGERPRINT is always sent.', alreadySo, {
    short: 'f',
    coturnNote: NO_EFFECT,
  }),
  flag(
    'no-software-attribute',
    'general',
    'Send no SOFTWARE attribute.',
    (d, v) => {
      d.software = v ? false : undefined;
    },
    { coturnNote: 'deprecated in coturn; same effect' },
  ),
  flag(
    'software-attribute',
    'general',
    'Send the SOFTWARE attribute (=false: none).',
    (d, v) => {
      d.software = v ? undefined : false;
    },
    { defaultText: 'on', coturnNote: 'coturn 4.6+ defaults to off' },
  ),
  flag('no-cli', 'general', 'Accepted; there is no telnet admin CLI.', alreadySo, {
    coturnNote: NO_EFFECT,
  }),
  // Listeners
  list(
    'listening-ip',
    'listeners',
    ['<ip>', 'Address to listen on (repeatable).'],
    pushTo('listeningIps', parseIpValue),
    {
      short: 'L',
      defaultText: '0.0.0.0 and ::',
      coturnNote: 'coturn lists the interfaces instead of binding the wildcards',
    },
  ),
  int('listening-port', 'listeners', 'UDP and TCP port.', PORT, field('listeningPort'), {
    short: 'p',
    defaultText: '3478',
  }),
  int('tls-listening-port', 'listeners', 'TLS port.', PORT, field('tlsListeningPort'), {
    defaultText: '5349',
  }),
  flag('no-udp', 'listeners', 'Do not listen on UDP.', field('noUdp')),
  flag('no-tcp', 'listeners', 'Do not listen on TCP.', field('noTcp')),
  flag('no-tls', 'listeners', 'Do not listen on TLS.', field('noTls')),
  flag('no-dtls', 'listeners', 'Accepted; there is no DTLS listener.', alreadySo, {
    coturnNote: NO_EFFECT,
  }),
  list(
    'proxy-protocol-from',
    'listeners',
    ['<range>', 'Load balancer whose TCP/TLS connections start with a PROXY v1/v2 header.'],
    pushTo('proxyProtocolFrom', parseIpRangeValue),
    { coturnNote: 'cloudproxy only' },
  ),
  // Relay
  ...DATA_PLANE_OPTIONS,
  list(
    'relay-ip',
    'relay',
    ['<ip>', 'Address relay sockets bind to (repeatable).'],
    pushTo('relayIps', parseIpValue),
    {
      short: 'E',
      defaultText: 'the listening addresses',
    },
  ),
  list(
    'external-ip',
    'relay',
    ['<public[/private]>', 'Public address of a relay address behind NAT (repeatable).'],
    (d, v, at) => {
      d.externalIps.push({ ...parseExternalIpValue(at, v), at });
    },
    { short: 'X' },
  ),
  int('min-port', 'relay', 'Lowest relay port.', RELAY_PORT, field('minPort'), {
    defaultText: '49152',
  }),
  int('max-port', 'relay', 'Highest relay port.', RELAY_PORT, field('maxPort'), {
    defaultText: '65535',
  }),
  int(
    'relay-threads',
    'relay',
    'Accepted and ignored, with a warning.',
    COUNT,
    (d, v) => {
      d.warnings.push(`--relay-threads ${v} is ignored: cloudproxy sizes its relay workers itself`);
    },
    { short: 'm', coturnNote: 'accepted, ignored with a warning' },
  ),
  // Authentication
  str(
    'realm',
    'auth',
    ['<realm>', 'REALM of the long-term credentials.'],
    parsedField('realm', parseStringValue),
    {
      short: 'r',
      defaultText: 'cloudproxy',
      coturnNote: 'coturn defaults to the domain name',
    },
  ),
  list(
    'user',
    'auth',
    ['<name:password>', 'Static long-term user (repeatable).'],
    (d, v, at) => {
      const user = parseUserValue(at, v);
      if (d.users.has(user.name)) {
        d.warnings.push(`${at}: user '${user.name}' given again; the last password wins`);
      }
      d.users.set(user.name, user.password);
    },
    { short: 'u', coturnNote: 'the name:0x<key> form is refused' },
  ),
  flag(
    'lt-cred-mech',
    'auth',
    'Long-term credentials; needs --user or a secret.',
    field('ltCredMech'),
    {
      short: 'a',
      coturnNote: 'implied by --user and --static-auth-secret',
    },
  ),
  flag(
    'use-auth-secret',
    'auth',
    'TURN REST credentials; needs --static-auth-secret.',
    field('useAuthSecret'),
  ),
  list(
    'static-auth-secret',
    'auth',
    ['<secret>', 'TURN REST shared secret (repeatable: all accepted, for rotation).'],
    pushTo('staticAuthSecrets', parseStringValue),
    { coturnNote: 'implies --use-auth-secret, as in coturn' },
  ),
  flag('no-auth', 'auth', 'No authentication: an open relay, for tests only.', field('noAuth'), {
    short: 'z',
    coturnNote: 'cloudproxy refuses to start without credentials unless given',
  }),
  // Peer policy
  list(
    'allowed-peer-ip',
    'peer-policy',
    ['<range>', 'Peers allowed even if denied or special-purpose (repeatable).'],
    pushTo('allowedPeerIps', parseIpRangeValue),
  ),
  list(
    'denied-peer-ip',
    'peer-policy',
    ['<range>', 'More peers to deny (repeatable).'],
    pushTo('deniedPeerIps', parseIpRangeValue),
    {
      defaultText: 'special-purpose ranges',
      coturnNote: 'coturn denies nothing by default',
    },
  ),
  flag('allow-loopback-peers', 'peer-policy', 'Allow loopback peers (tests only).', (d, v) => {
    d.allowLoopbackPeers = v;
    if (v) {
      d.warnings.push(
        '--allow-loopback-peers: loopback peers are reachable through the relay; never in production',
      );
    }
  }),
  flag(
    'no-multicast-peers',
    'peer-policy',
    'Accepted; multicast peers are always denied.',
    alreadySo,
    {
      coturnNote: NO_EFFECT,
    },
  ),
  flag(
    'no-loopback-peers',
    'peer-policy',
    'Accepted; loopback peers are denied by default.',
    alreadySo,
    {
      coturnNote: 'older coturn option; accepted, no effect',
    },
  ),
  // Quotas
  int(
    'user-quota',
    'quotas',
    'Concurrent allocations per user; 0 = unlimited.',
    COUNT,
    field('userQuota'),
    {
      short: 'q',
      defaultText: '0',
    },
  ),
  int(
    'total-quota',
    'quotas',
    'Concurrent allocations in total; 0 = unlimited.',
    COUNT,
    field('totalQuota'),
    {
      short: 'Q',
      defaultText: '0',
    },
  ),
  ...ABUSE_QUOTA_OPTIONS,
  int(
    'max-bps',
    'quotas',
    'Bandwidth cap per allocation in bytes/s; 0 = none.',
    { valueName: '<bytes/s>', min: 0, max: MAX_UINT32 },
    field('maxBps'),
    { short: 's', defaultText: '0' },
  ),
  // TLS
  str(
    'cert',
    'tls',
    ['<file>', 'PEM certificate chain; TLS listens only with --cert and --pkey.'],
    parsedField('certFile', parseStringValue),
    {
      defaultText: 'none',
      coturnNote: 'coturn defaults to turn_server_cert.pem',
    },
  ),
  str('pkey', 'tls', ['<file>', 'PEM private key.'], parsedField('keyFile', parseStringValue), {
    defaultText: 'none',
    coturnNote: 'coturn defaults to turn_server_pkey.pem',
  }),
  flag('no-tlsv1', 'tls', 'Accepted; TLS 1.0 is never offered.', alreadySo, {
    coturnNote: NO_EFFECT,
  }),
  flag('no-tlsv1_1', 'tls', 'Accepted; TLS 1.1 is never offered.', alreadySo, {
    coturnNote: NO_EFFECT,
  }),
  // Lifetimes
  int(
    'stale-nonce',
    'lifetimes',
    'Nonce lifetime before 438 Stale Nonce.',
    { ...SECONDS, bareValue: 600 },
    field('nonceLifetimeS'),
    {
      defaultText: '600',
    },
  ),
  int(
    'max-allocate-lifetime',
    'lifetimes',
    'Largest allocation lifetime granted.',
    { ...SECONDS, bareValue: 3600 },
    field('maxLifetimeS'),
    { defaultText: '3600' },
  ),
  int(
    'channel-lifetime',
    'lifetimes',
    'Channel binding lifetime.',
    { ...SECONDS, bareValue: 600 },
    field('channelLifetimeS'),
    {
      defaultText: '600',
    },
  ),
  int(
    'permission-lifetime',
    'lifetimes',
    'Permission lifetime.',
    { ...SECONDS, bareValue: 300 },
    field('permissionLifetimeS'),
    {
      defaultText: '300',
    },
  ),
  int(
    'drain-timeout',
    'lifetimes',
    'On SIGTERM/SIGINT, how long live allocations may drain before the server closes.',
    { ...SECONDS, min: 0 },
    field('drainTimeoutS'),
    { defaultText: '30', coturnNote: 'cloudproxy only' },
  ),
  // Logging and metrics
  str(
    'log-file',
    'logging',
    ['<file>', 'Log to this file, or stdout, or syslog.'],
    parsedField('logFile', parseStringValue),
    {
      short: 'l',
      defaultText: 'stdout',
    },
  ),
  flag('verbose', 'logging', 'Verbose (debug) logging.', field('verbose'), { short: 'v' }),
  flag(
    'Verbose',
    'logging',
    'Extra verbose logging, per packet.',
    (d, v) => {
      d.verbose = v;
      d.extraVerbose = v;
    },
    { short: 'V' },
  ),
  flag('prometheus', 'logging', 'Serve Prometheus metrics.', field('prometheus')),
  int(
    'prometheus-port',
    'logging',
    'Prometheus exporter port.',
    { ...RELAY_PORT, bareValue: 9641 },
    field('prometheusPort'),
    {
      defaultText: '9641',
    },
  ),
  str(
    'prometheus-address',
    'logging',
    ['<ip>', 'Prometheus exporter address.'],
    parsedField('prometheusAddress', parseIpValue),
    {
      defaultText: '127.0.0.1',
      coturnNote: 'coturn listens on all interfaces',
    },
  ),
  str(
    'pidfile',
    'logging',
    ['<file>', 'Write the process id to this file.'],
    parsedField('pidfile', parseStringValue),
    {
      defaultText: 'none',
      coturnNote: 'coturn defaults to /var/run/turnserver.pid',
    },
  ),
];

const BY_NAME = new Map(TURN_OPTIONS.map((spec) => [spec.name, spec]));
const BY_SHORT = new Map(
  TURN_OPTIONS.flatMap((spec) => (spec.short === undefined ? [] : [[spec.short, spec] as const])),
);

/** Finds a supported option by its long name (without dashes, case-sensitive). */
export function findTurnOption(name: string): TurnOptionSpec | undefined {
  return BY_NAME.get(name);
}

/** Finds a supported option by its one-letter alias. */
export function findTurnOptionByShort(letter: string): TurnOptionSpec | undefined {
  return BY_SHORT.get(letter);
}
