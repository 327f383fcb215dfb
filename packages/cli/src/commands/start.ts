/**
 * `cloudproxy start`: the whole system in one process with embedded defaults: the TURN/STUN
 * relay (UDP+TCP 3478, TLS 5349), and on the HTTPS port (8443) the control plane API, console and
 * diagnostics, the signaling proxy and /metrics. First start creates under the data directory a
 * TURN REST secret, a self-signed certificate, the SQLite store, an admin token (printed once;
 * the store keeps only its hash) and a demo app; every start prints demo credentials.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ControlPlane } from '@cloudproxy/control';
import { createSignalingProxy } from '@cloudproxy/proxy';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { TurnServer, createTurnMetrics } from '@cloudproxy/turn/node';
import { loadTurnConfig } from '../config/turn-args.js';
import type { LoadedTurnConfig } from '../config/turn-args.js';
import {
  checkStartFilePermissions,
  readStartFile,
  resolveStartSettings,
  turnArgs,
} from '../config/start-config.js';
import type { StartFlags, StartSettings } from '../config/start-config.js';
import { listenHttps } from '../https-surface.js';
import {
  chooseHttpsPort,
  httpsListenOptions,
  readCertificates,
  turnPortsText,
} from './start-https.js';
import { openControlPlane } from './start-cluster.js';
import { handleSignals } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { sdkRoutes } from '../sdk-bundle.js';
import { createDemo } from '../demo/index.js';
import { ensureSelfSignedCertificate } from '../tls-certificate.js';
import type { CertificateFiles } from '../tls-certificate.js';

export type { StartFlags } from '../config/start-config.js';

/** The TURN REST secret in `dataDir/turn-secret` (mode 0600), made on first start. */
function ensureTurnSecret(dataDir: string): string {
  const file = path.join(dataDir, 'turn-secret');
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

interface Prepared {
  readonly settings: StartSettings;
  readonly turn: LoadedTurnConfig;
  readonly cert: CertificateFiles;
  /** About the YAML file itself (a world-readable file holding secrets). */
  readonly fileWarnings: readonly string[];
}

/** Resolves everything `start` needs, creating first-start files. */
function prepare(flags: StartFlags): Prepared {
  const file = readStartFile(flags.config);
  const permissions = checkStartFilePermissions(
    flags.config,
    file,
    flags.strictConfigPermissions === true,
  );
  const settings = resolveStartSettings(flags, file);
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const secret = ensureTurnSecret(settings.dataDir);
  const hosts = ['localhost', '127.0.0.1', '::1', os.hostname(), ...settings.listenIps];
  if (settings.publicHost) hosts.push(settings.publicHost);
  const userCert = settings.turn?.['cert'];
  const cert =
    typeof userCert === 'string' && typeof settings.turn?.['pkey'] === 'string'
      ? { certFile: userCert, keyFile: settings.turn['pkey'], generated: false }
      : ensureSelfSignedCertificate(path.join(settings.dataDir, 'tls'), [...new Set(hosts)]);
  const args = turnArgs(settings, secret, userCert === undefined ? cert : undefined);
  const turn = loadTurnConfig(args, () => ({ text: '', mode: 0o600 }));
  if (settings.adminToken !== undefined && settings.adminToken.length < 16)
    throw new Error('--admin-token: must be at least 16 characters');
  return { settings, turn, cert, fileWarnings: permissions === undefined ? [] : [permissions] };
}

/**
 * The address clients use: --public-host, else the relay's advertised address (the external IP,
 * the relay IP, or for a wildcard the first non-internal interface address).
 */
function publicHost(settings: StartSettings, relay: TurnServer | undefined): string {
  return settings.publicHost ?? relay?.relayAddresses[0] ?? settings.listenIps[0] ?? '127.0.0.1';
}

/** The relay of this node: none on an API-only node (`--role api`). */
async function startRelay(
  settings: StartSettings,
  turn: LoadedTurnConfig,
  log: ReturnType<typeof createLogger>,
): Promise<{ relay: TurnServer | undefined; registry: Registry }> {
  if (settings.cluster.role === 'api') {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'cloudproxy_' });
    return { relay: undefined, registry };
  }
  const relay = new TurnServer(turn.server, { logger: log });
  await relay.listen();
  return { relay, registry: createTurnMetrics(relay.core.stats, relay.gauges) };
}

/** Demo credentials of the `demo` app (created by the demo on first start), issued each start. */
function demoCredentials(control: ControlPlane, appId: string): Promise<unknown> {
  return control.apps.issueCredentials(appId, {
    channel: 'demo',
    uid: 'demo-user',
    ttl: 86_400,
    mode: 'auto',
  });
}

/** The start banner: where everything is, the admin token once, demo credentials. */
async function bannerLines(ctx: {
  settings: StartSettings;
  base: string;
  httpsPort: number;
  hasRelay: boolean;
  cert: CertificateFiles;
  control: ControlPlane;
  demoAppId: string;
}): Promise<string[]> {
  const { settings, base, cert, control } = ctx;
  const demo = await demoCredentials(control, ctx.demoAppId).then(
    (issued) => JSON.stringify(issued, null, 2),
    (error: unknown) => `(none yet: ${error instanceof Error ? error.message : String(error)})`,
  );
  return [
    'cloudproxy is running with embedded defaults.',
    `  console:     ${base}/console`,
    `  diagnostics: ${base}/diagnostics`,
    `  API:         ${base}/api/v1 (OpenAPI at ${base}/api/v1/openapi.json)`,
    `  client SDK:  ${base}/sdk/cloudproxy-client.js`,
    `  demo call:   ${base}/demo`,
    ctx.hasRelay
      ? `  TURN:        ${turnPortsText(settings, ctx.httpsPort)}`
      : '  TURN:        none (--role api)',
    settings.cluster.redisUrl
      ? `  cluster:     role ${settings.cluster.role}, node ${control.node.status().nodeId}, region ${settings.region}`
      : '',
    cert.generated
      ? `A self-signed certificate was generated in ${path.dirname(cert.certFile)}: browsers must be told to trust it (or configure turn.cert/turn.pkey).`
      : '',
    control.generatedAdminToken
      ? `Admin token (shown once, only its hash is stored; --admin-token sets another): ${control.generatedAdminToken}`
      : '',
    'Demo credentials (app "demo", valid 24 hours):',
    demo,
  ];
}

/** Runs `cloudproxy start` until a signal stops it. */
export async function runStart(flags: StartFlags): Promise<void> {
  const { settings, turn, cert, fileWarnings } = prepare(flags);
  const log = createLogger({
    verbose: turn.cli.verbose,
    file: turn.cli.logFile,
    name: 'cloudproxy',
  });
  for (const warning of [...fileWarnings, ...turn.warnings])
    log.warn({ event: 'config.warning' }, warning);
  const { relay, registry } = await startRelay(settings, turn, log);
  const host = publicHost(settings, relay);
  const httpsHost = settings.listenIps[0] ?? '::';
  const https = await chooseHttpsPort(settings, httpsHost);
  log.info({ event: 'https.port', port: https.port, why: https.why }, 'https port chosen');
  const control = await openControlPlane({ settings, turn, relay, host, https, registry, log });
  const proxySettings = settings.proxy;
  const proxy = createSignalingProxy({
    allowHosts: proxySettings.allowHosts ?? [],
    allowPorts: proxySettings.allowPorts,
    presets: proxySettings.presets,
    allowPrivateUpstream: proxySettings.allowPrivateUpstream,
    upstreamCa: proxySettings.upstreamCa ? readFileSync(proxySettings.upstreamCa) : undefined,
    cors: proxySettings.corsOrigins ? { origins: proxySettings.corsOrigins } : undefined,
    logger: log.pino,
    registry,
  });
  const certificates = readCertificates(settings, cert);
  const demo = await createDemo({
    apps: control.apps,
    listenAddress: httpsHost,
    publicName: settings.publicHost,
    certPem: certificates.cert,
    logger: log.pino,
    registry,
  });
  const surface = await listenHttps(
    {
      control,
      proxy: demo.wrapProxy(proxy),
      registry,
      routes: new Map([...sdkRoutes(), ...demo.routes]),
      upgrades: demo.upgrades,
    },
    httpsListenOptions(
      relay ? settings : { ...settings, sharedTurn: false },
      { host: httpsHost, port: https.port, certificates },
      (socket, remote) => relay?.acceptStream(socket, 'tls', remote),
      relay?.nativeTls,
    ),
  );
  relay?.setHttpsPort(surface.address.port);
  // Pages are opened where the node runs unless a public name is configured.
  const pageHost = settings.publicHost ?? settings.listenIps[0] ?? 'localhost';
  demo.listening(surface.address.port);
  const base = `https://${pageHost.includes(':') ? `[${pageHost}]` : pageHost}:${surface.address.port}`;
  const lines = await bannerLines({
    settings,
    base,
    httpsPort: surface.address.port,
    hasRelay: relay !== undefined,
    cert,
    control,
    demoAppId: demo.appId,
  });
  process.stderr.write(`${lines.filter(Boolean).join('\n')}\n`);
  log.info(
    { event: 'ready', https: surface.address, listeners: relay?.addresses ?? [] },
    'cloudproxy ready',
  );
  const closeAll = async (): Promise<void> => {
    await surface.close();
    await proxy.close();
    await demo.close();
    await control.close();
  };
  handleSignals(log, {
    reload: () => {
      relay?.reload(prepare(flags).turn.server.auth);
      const renewed = readCertificates(settings, cert);
      surface.setCertificates(renewed);
      demo.setCertificate(renewed.cert);
    },
    stop: async () => {
      log.info({ event: 'drain', allocations: relay?.core.allocationCount ?? 0 }, 'draining');
      await relay?.drain(relay.options.drainTimeoutS * 1000);
      await closeAll();
    },
    force: async () => {
      await relay?.close();
      await closeAll();
    },
    beforeExit: () => {
      log.flush();
    },
  });
}
