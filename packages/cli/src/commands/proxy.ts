/**
 * `cloudproxy proxy`: the signaling reverse proxy alone, on its own HTTPS port. Runs until
 * SIGTERM/SIGINT; SIGHUP reloads the certificate.
 * @module
 */
import type http from 'node:http';
import { createProxyServer } from '@cloudproxy/proxy';
import { serveMetrics } from '@cloudproxy/turn/node';
import type { Command } from 'commander';
import { ProxyConfigError, convertValue, loadProxyConfig } from '../config/proxy-config.js';
import type { LoadedProxyConfig } from '../config/proxy-config.js';
import { PROXY_OPTIONS } from '../config/proxy-options.js';
import type { ProxyOptionValues } from '../config/proxy-options.js';
import { handleSignals } from '../lifecycle.js';
import { createProxyLogger } from './proxy-log.js';
import {
  isProxyWorker,
  runProxyPrimary,
  shareWorkerMetrics,
  warnOnEmptyAllowlist,
} from './proxy-workers.js';

/** Turns commander's parsed options (camelCase keys, raw text) into checked option values. */
function valuesFromCommander(parsed: Record<string, unknown>): ProxyOptionValues {
  const values: ProxyOptionValues = {};
  for (const spec of PROXY_OPTIONS) {
    const key = spec.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const raw = parsed[key];
    if (raw !== undefined) values[spec.name] = convertValue(spec, raw, `--${spec.name}`);
  }
  return values;
}

/**
 * Runs the proxy from a loaded configuration until a signal stops it: in this process with
 * `--workers 1`, otherwise as the primary of that many worker processes (see proxy-workers.ts).
 * A worker runs the proxy itself; the primary logs `ready` and serves the metrics for all.
 */
export async function runProxy(config: LoadedProxyConfig): Promise<void> {
  const worker = isProxyWorker();
  if (!worker && config.workers > 1) {
    await runProxyPrimary(config, config.workers);
    return;
  }
  const log = createProxyLogger({
    verbose: config.verbose,
    file: config.logFile,
    name: 'cloudproxy-proxy',
  });
  const server = await createProxyServer({ ...config.server, logger: log.proxy });
  let metricsServer: http.Server | undefined;
  if (worker) {
    shareWorkerMetrics(server.registry);
  } else if (config.metrics !== undefined) {
    metricsServer = await serveMetrics(server.registry, config.metrics.host, config.metrics.port);
    log.info({ event: 'metrics', ...config.metrics }, 'metrics at /metrics');
  }
  const { server: options } = config;
  log[worker ? 'debug' : 'info'](
    {
      event: worker ? 'worker.ready' : 'ready',
      listen: server.address(),
      allowHosts: options.allowHosts,
      presets: options.presets,
      allowPorts: options.allowPorts ?? [443],
      allowPrivateUpstream: options.allowPrivateUpstream,
    },
    'signaling proxy ready',
  );
  if (!worker) warnOnEmptyAllowlist(log, config);
  log.flush();
  const closeMetrics = (): Promise<void> =>
    new Promise((resolve) => {
      if (metricsServer === undefined) resolve();
      else
        metricsServer.close(() => {
          resolve();
        });
    });
  handleSignals(log, {
    reload: () => {
      server.reloadCertificate(config.readTls());
      log.info({ event: 'reload' }, 'certificate reloaded');
    },
    stop: async () => {
      await server.close();
      await closeMetrics();
    },
    force: async () => {
      await server.close();
    },
    beforeExit: () => {
      log.flush();
    },
  });
}

/** Registers `cloudproxy proxy` on the program. */
export function registerProxyCommand(program: Command): void {
  const collect = (value: string, previous: string[] | undefined): string[] => [
    ...(previous ?? []),
    value,
  ];
  const command = program
    .command('proxy')
    .description(
      'run the HTTPS/WebSocket signaling reverse proxy alone (every option can also be a YAML key in --config FILE)',
    )
    .helpOption('-h, --help', 'show this help');
  for (const spec of PROXY_OPTIONS) {
    const flag = `--${spec.name}${spec.value === undefined ? '' : ` <${spec.value.toLowerCase()}>`}`;
    if (spec.kind === 'list') command.option(flag, spec.description, collect);
    else command.option(flag, spec.description);
  }
  command.action(async (parsed: Record<string, unknown>) => {
    try {
      await runProxy(loadProxyConfig(valuesFromCommander(parsed)));
    } catch (error) {
      if (error instanceof ProxyConfigError)
        throw new Error(`cloudproxy proxy: ${error.message}`, { cause: error });
      throw error;
    }
  });
}
