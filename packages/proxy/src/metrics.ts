/**
 * Prometheus metrics of the signaling proxy (prefix `cloudproxy_proxy_`): requests, refusals,
 * upstream errors, latency and open WebSockets. No per-client or per-path labels.
 * @module
 */
import client from 'prom-client';
import type { Registry } from 'prom-client';
import { applyRequestBatches, createRequestBatch, releaseRequestBatch } from './metric-batch.js';

/** The proxy's metric handles. */
export interface ProxyMetrics {
  /** Counts a finished request (proxied or refused) by method and status. */
  request(method: string, status: number, durationS: number, kind: 'http' | 'websocket'): void;
  /** Counts a refusal by code. */
  refusal(code: string): void;
  /** Counts a failure talking to an upstream by code. */
  upstreamError(code: string): void;
  /** Tracks open WebSockets (+1 when opened, -1 when closed). */
  websocketOpened(delta: 1 | -1): void;
  /** Applies what is still batched; the proxy is closing. */
  close(): void;
}

const PREFIX = 'cloudproxy_proxy_';
/** Latency buckets in seconds: 1 ms to 30 s. */
const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
/** Methods counted by name; every other method is counted as `other`. */
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const OTHER_METHOD = KNOWN_METHODS.length;

/** Returns an existing metric of that name or registers a new one (several proxies, one registry). */
function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Registers the proxy's metrics in `registry`. */
export function createProxyMetrics(registry: Registry): ProxyMetrics {
  const registers = [registry];
  // Requests reach prom-client in batches (metric-batch.ts), applied before any read.
  const collect = (): void => {
    applyRequestBatches(registry);
  };
  const requests = reuse(
    registry,
    `${PREFIX}requests_total`,
    () =>
      new client.Counter({
        name: `${PREFIX}requests_total`,
        help: 'Requests and WebSocket upgrades handled, by method, status and kind.',
        labelNames: ['method', 'status', 'kind'] as const,
        registers,
        collect,
      }),
  );
  const refusals = reuse(
    registry,
    `${PREFIX}refusals_total`,
    () =>
      new client.Counter({
        name: `${PREFIX}refusals_total`,
        help: 'Requests refused by the proxy, by error code.',
        labelNames: ['code'] as const,
        registers,
      }),
  );
  const upstreamErrors = reuse(
    registry,
    `${PREFIX}upstream_errors_total`,
    () =>
      new client.Counter({
        name: `${PREFIX}upstream_errors_total`,
        help: 'Failures talking to upstreams (timeouts, TLS, unreachable), by error code.',
        labelNames: ['code'] as const,
        registers,
      }),
  );
  const latency = reuse(
    registry,
    `${PREFIX}request_duration_seconds`,
    () =>
      new client.Histogram({
        name: `${PREFIX}request_duration_seconds`,
        help: 'Time from request to the end of the response (HTTP) or to the upgrade (WebSocket).',
        labelNames: ['kind'] as const,
        buckets: LATENCY_BUCKETS_S,
        registers,
        collect,
      }),
  );
  const websockets = reuse(
    registry,
    `${PREFIX}websockets_open`,
    () =>
      new client.Gauge({
        name: `${PREFIX}websockets_open`,
        help: 'WebSockets open through the proxy.',
        registers,
      }),
  );
  // Label children are looked up once per label set and kept, under a numeric key: the sets are
  // bounded (methods, three-digit statuses, kinds).
  const requestChildren = new Map<number, client.Counter.Internal>();
  const latencyChildren = {
    http: latency.labels({ kind: 'http' }),
    websocket: latency.labels({ kind: 'websocket' }),
  };
  const requestChild = (method: string, status: number, kind: string): client.Counter.Internal => {
    const known = KNOWN_METHODS.indexOf(method as (typeof KNOWN_METHODS)[number]);
    const methodIndex = known === -1 ? OTHER_METHOD : known;
    const key = (status * (OTHER_METHOD + 1) + methodIndex) * 2 + (kind === 'http' ? 0 : 1);
    let child = requestChildren.get(key);
    if (child === undefined) {
      const name = KNOWN_METHODS[methodIndex] ?? 'other';
      child = requests.labels({ method: name, status, kind });
      requestChildren.set(key, child);
    }
    return child;
  };
  const batch = createRequestBatch(registry);
  return {
    request: (method, status, durationS, kind) => {
      batch.add(requestChild(method, status, kind), latencyChildren[kind], durationS);
    },
    refusal: (code) => {
      refusals.inc({ code });
    },
    upstreamError: (code) => {
      upstreamErrors.inc({ code });
    },
    websocketOpened: (delta) => {
      websockets.inc(delta);
    },
    close: () => {
      releaseRequestBatch(registry, batch);
    },
  };
}
