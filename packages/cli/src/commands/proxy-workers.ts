/**
 * `cloudproxy proxy --workers N`: the signaling proxy on every core. A primary process forks N
 * workers (node:cluster); each runs the whole proxy and they share the listening socket, which
 * the primary hands out connection by connection, round robin. The primary restarts a worker
 * that dies (backing off while they keep dying at once), forwards SIGHUP, stops every worker
 * gracefully on SIGTERM/SIGINT, and serves the workers' metrics summed (`--metrics`).
 * @module
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type http from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import type { PrometheusContentType, Registry } from 'prom-client';
import { serveMetrics } from '@cloudproxy/turn/node';
import type { LoadedProxyConfig } from '../config/proxy-config.js';
import { handleSignals } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import type { CommandLogger } from '../logger.js';

/** A worker that lived shorter than this crashed at start: the next one waits (backoff). */
const QUICK_EXIT_MS = 5_000;
/** First and largest wait before restarting a worker that exited quickly. */
const RESTART_DELAY_MIN_MS = 250;
const RESTART_DELAY_MAX_MS = 30_000;
/** How long workers get to finish after SIGTERM before they are killed. */
const STOP_GRACE_MS = 30_000;

/** True in a worker process forked by {@link runProxyPrimary}. */
export function isProxyWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Makes a worker's metrics readable by the primary: prom-client answers the primary's requests
 * with the metrics of `registry` (constructing an AggregatorRegistry installs that answer).
 */
export function shareWorkerMetrics(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry<PrometheusContentType>();
}

/** Warns that nothing is allowed: no `--allow-host` and no `--allow-preset`. */
export function warnOnEmptyAllowlist(log: CommandLogger, config: LoadedProxyConfig): void {
  const { server } = config;
  if (server.allowHosts.length === 0 && (server.presets ?? []).length === 0) {
    log.warn(
      { event: 'config.empty-allowlist' },
      'no --allow-host or --allow-preset: every upstream is refused',
    );
  }
}

/** The primary's view of the workers' metrics: every worker's, summed, on each scrape. */
class ClusterRegistry extends AggregatorRegistry<PrometheusContentType> {
  override metrics(): Promise<string> {
    return this.clusterMetrics();
  }
}

/** State of the primary. */
interface Primary {
  readonly config: LoadedProxyConfig;
  readonly log: CommandLogger;
  readonly count: number;
  /** Worker id → fork time. */
  readonly startedAtMs: Map<number, number>;
  ready: boolean;
  stopping: boolean;
  restartDelayMs: number;
}

/**
 * Runs the primary: forks `count` workers (the same command line, run by {@link isProxyWorker}
 * processes), logs `ready` once all of them listen, and keeps them running until a signal.
 * Resolves once ready; rejects if a worker dies before all are ready (bad port, certificate, …).
 */
export async function runProxyPrimary(config: LoadedProxyConfig, count: number): Promise<void> {
  const log = createLogger({
    verbose: config.verbose,
    file: config.logFile,
    name: 'cloudproxy-proxy',
  });
  const primary: Primary = {
    config,
    log,
    count,
    startedAtMs: new Map(),
    ready: false,
    stopping: false,
    restartDelayMs: RESTART_DELAY_MIN_MS,
  };
  const listen = await startWorkers(primary);
  const metricsServer =
    config.metrics === undefined
      ? undefined
      : await serveMetrics(new ClusterRegistry(), config.metrics.host, config.metrics.port);
  if (config.metrics !== undefined) {
    log.info({ event: 'metrics', ...config.metrics }, 'metrics at /metrics (all workers)');
  }
  const { server: options } = config;
  log.info(
    {
      event: 'ready',
      listen,
      workers: count,
      allowHosts: options.allowHosts,
      presets: options.presets,
      allowPorts: options.allowPorts ?? [443],
      allowPrivateUpstream: options.allowPrivateUpstream,
    },
    'signaling proxy ready',
  );
  warnOnEmptyAllowlist(log, config);
  log.flush();
  handleSignals(log, {
    reload: () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
      log.info({ event: 'reload', workers: count }, 'certificate reload sent to the workers');
    },
    stop: async () => {
      primary.stopping = true;
      await stopWorkers('SIGTERM');
      await closeServer(metricsServer);
    },
    force: async () => {
      await stopWorkers('SIGKILL');
    },
    beforeExit: () => {
      log.flush();
    },
  });
}

/** Forks the workers and waits until every one listens; returns the shared address. */
function startWorkers(primary: Primary): Promise<{ address: string; port: number }> {
  return new Promise((resolve, reject) => {
    let listening = 0;
    let address = { address: '', port: 0 };
    const onListening = (worker: Worker, bound: { address: string; port: number }): void => {
      primary.log.debug({ event: 'worker.ready', pid: worker.process.pid }, 'worker listening');
      if (primary.ready) return;
      address = { address: bound.address, port: bound.port };
      listening++;
      if (listening === primary.count) {
        primary.ready = true;
        resolve(address);
      }
    };
    cluster.on('listening', onListening);
    cluster.on('exit', (worker, code, signal) => {
      if (!primary.ready) {
        if (primary.stopping) return;
        primary.stopping = true;
        void stopWorkers('SIGKILL');
        reject(new Error(`a proxy worker exited at start (code ${String(code)})`));
        return;
      }
      onWorkerExit(primary, worker, code, signal);
    });
    for (let i = 0; i < primary.count; i++) fork(primary);
  });
}

function fork(primary: Primary): void {
  const worker = cluster.fork();
  primary.startedAtMs.set(worker.id, Date.now());
}

/** Restarts a worker that died while the proxy runs; backs off while workers die at once. */
function onWorkerExit(
  primary: Primary,
  worker: Worker,
  code: number | null,
  signal: string | null,
): void {
  const startedAtMs = primary.startedAtMs.get(worker.id) ?? 0;
  primary.startedAtMs.delete(worker.id);
  if (primary.stopping) return;
  const quick = Date.now() - startedAtMs < QUICK_EXIT_MS;
  const delayMs = quick ? primary.restartDelayMs : 0;
  primary.restartDelayMs = quick
    ? Math.min(RESTART_DELAY_MAX_MS, primary.restartDelayMs * 2)
    : RESTART_DELAY_MIN_MS;
  primary.log.error(
    { event: 'worker.exit', pid: worker.process.pid, code, signal, restartInMs: delayMs },
    'proxy worker died; starting another',
  );
  setTimeout(() => {
    if (!primary.stopping) fork(primary);
  }, delayMs).unref();
}

/** Signals every worker and waits for all to exit (killing them after the grace period). */
async function stopWorkers(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter(
    (worker): worker is Worker => worker !== undefined && !worker.isDead(),
  );
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS);
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          worker.process.kill(signal);
        }),
    ),
  );
}

function closeServer(server: http.Server | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (server === undefined) resolve();
    else server.close(() => resolve());
  });
}
