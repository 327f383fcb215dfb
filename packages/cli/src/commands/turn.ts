/**
 * `cloudproxy turn`: the TURN/STUN server alone, configured with coturn's flags and
 * `turnserver.conf`. Runs until SIGTERM/SIGINT (graceful drain); SIGHUP reloads users, secrets
 * and certificates from the configuration without dropping allocations.
 * @module
 */
import { readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { TurnServer, createTurnMetrics, serveMetrics } from '@cloudproxy/turn/node';
import type { TurnServerOptions } from '@cloudproxy/turn';
import { loadTurnConfig } from '../config/turn-args.js';
import type { LoadedTurnConfig } from '../config/turn-args.js';
import { handleSignals } from '../lifecycle.js';
import { createLogger } from '../logger.js';

/** Reads a config file with its mode (for the world-readable secrets check). */
function readConfigFile(file: string): { text: string; mode: number } {
  return { text: readFileSync(file, 'utf8'), mode: statSync(file).mode };
}

/** Loads the configuration from argv (and `-c FILE`), throwing a config error that names the key. */
export function loadConfig(argv: readonly string[]): LoadedTurnConfig {
  return loadTurnConfig(argv, readConfigFile);
}

/** Runs a TURN server from a loaded configuration until a signal stops it. */
export async function runTurn(
  config: LoadedTurnConfig,
  reloadConfig: () => TurnServerOptions,
): Promise<void> {
  const log = createLogger({
    verbose: config.cli.verbose,
    file: config.cli.logFile,
    name: 'cloudproxy-turn',
  });
  for (const warning of config.warnings) log.warn({ event: 'config.warning' }, warning);
  if (config.server.auth.noAuth) {
    log.warn(
      { event: 'config.no-auth' },
      'authentication is off (--no-auth): this is an open relay, for tests only',
    );
  }
  const server = new TurnServer(config.server, { logger: log });
  await server.listen();
  const { prometheus } = config.cli;
  const metricsServer = prometheus.enabled
    ? await serveMetrics(
        createTurnMetrics(server.core.stats, server.gauges),
        prometheus.address,
        prometheus.port,
      )
    : undefined;
  if (metricsServer) {
    log.info(
      { event: 'metrics', address: prometheus.address, port: prometheus.port },
      'metrics at /metrics',
    );
  }
  if (config.cli.pidfile) writeFileSync(config.cli.pidfile, `${process.pid}\n`);
  log.info({ event: 'ready', listeners: server.addresses }, 'turn server ready');

  const closeMetrics = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (metricsServer)
        metricsServer.close(() => {
          resolve();
        });
      else resolve();
    });
  handleSignals(log, {
    reload: () => {
      server.reload(reloadConfig().auth);
    },
    stop: async () => {
      log.info({ event: 'drain', allocations: server.core.allocationCount }, 'draining');
      await server.drain(server.options.drainTimeoutS * 1000);
      await closeMetrics();
    },
    force: () => server.close(),
    beforeExit: () => {
      if (config.cli.pidfile) rmSync(config.cli.pidfile, { force: true });
      log.flush();
    },
  });
}
