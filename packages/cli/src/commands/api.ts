/**
 * `cloudproxy api`: the control-plane API alone (apps, reservations, credentials, revocation,
 * allowlist, usage) on its own HTTPS port. Standalone it has no relay attached: quotas and the
 * ending of live allocations on revocation are enforced by a relay running with the control
 * plane (`cloudproxy start`). Runs until SIGTERM/SIGINT; SIGHUP reloads the certificate.
 * @module
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ApiProblem, createControlPlane } from '@cloudproxy/control';
import type { ControlPlane } from '@cloudproxy/control';
import { withTlsPolicy } from '@cloudproxy/turn/node';
import type { Command } from 'commander';
import { resolveApiConfig } from '../config/api-options.js';
import type { ApiCommandConfig, ApiFlags } from '../config/api-options.js';
import { handleSignals } from '../lifecycle.js';
import { createLogger } from '../logger.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Registers `cloudproxy api` on the program. */
export function registerApiCommand(program: Command): void {
  program
    .command('api')
    .description('run the control-plane API alone (apps, credentials, allowlist, usage)')
    .option('--listen <host:port>', 'address to serve on', '127.0.0.1:8443')
    .option('--cert <file>', 'TLS certificate chain (PEM)')
    .option('--pkey <file>', 'TLS private key (PEM)')
    .option('--insecure-http', 'serve plain HTTP (loopback --listen only)')
    .option('--data-dir <dir>', 'SQLite store at DIR/cloudproxy.db (default ./data)')
    .option('--database-url <url>', 'PostgreSQL store instead of SQLite (postgres://…)')
    .option('--admin-token <token>', 'admin token (or CLOUDPROXY_ADMIN_TOKEN; else generated once)')
    .option('--region <name>', 'region of this node (default "default")')
    .option('--public-host <name>', 'host name or address put in TURN URLs')
    .option('--relay-ip <ip>', 'public relay address for the allowlist (repeatable)', collect)
    .option('--turn-port <n>', 'TURN UDP/TCP port (default 3478)')
    .option('--turn-tls-port <n>', 'TURN TLS port (default 5349)')
    .option('--relay-port-range <min-max>', 'relay port range (default 49152-65535)')
    .option('--domain <name>', 'domain name for automatic mode (repeatable)', collect)
    .option('--rate-limit <n>', 'requests per minute per token or client IP (default 600)')
    .option('-v, --verbose', 'debug logging')
    .action(async (flags: ApiFlags) => {
      await runApi(resolveApiConfig(flags, process.env));
    });
}

function readTls(config: ApiCommandConfig): { cert: Buffer; key: Buffer } | undefined {
  if (!config.tls) return undefined;
  return { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

/** Runs the API server until a signal stops it. */
export async function runApi(config: ApiCommandConfig): Promise<void> {
  const log = createLogger({ verbose: config.verbose, name: 'cloudproxy-api' });
  const cp: ControlPlane = await createControlPlane({ ...config.control, logger: log.pino });
  if (cp.generatedAdminToken !== undefined)
    process.stderr.write(
      `cloudproxy api: generated the admin token (shown once, only its hash is stored):\n${cp.generatedAdminToken}\n`,
    );
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (cp.handle(req, res)) return;
    const problem = new ApiProblem('not-found', `no such resource ${req.url ?? ''}`);
    res.writeHead(problem.status, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify(problem.toBody()));
  };
  const tls = readTls(config);
  const server = tls ? https.createServer(withTlsPolicy(tls), handler) : http.createServer(handler);
  await listen(server, config.host, config.port);
  const address = server.address();
  log.info(
    {
      event: 'ready',
      listen: address,
      scheme: tls ? 'https' : 'http',
      store: config.control.store.kind,
      region: config.control.node.region,
    },
    'control-plane API ready (no relay attached: quotas and live revocation need `cloudproxy start`)',
  );
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await cp.close();
  };
  handleSignals(log, {
    reload: () => {
      const next = readTls(config);
      if (next && server instanceof https.Server) server.setSecureContext(withTlsPolicy(next));
      log.info({ event: 'reload' }, 'certificate reloaded');
    },
    stop: close,
    force: close,
    beforeExit: () => log.flush(),
  });
}
