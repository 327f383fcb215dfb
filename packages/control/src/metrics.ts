/**
 * Prometheus metrics of the control plane (prefix `cloudproxy_control_`). No per-app or per-user
 * labels: reasons and routes only.
 * @module
 */
import { Counter, Gauge, Registry } from 'prom-client';

/** The control plane's metrics. */
export interface ControlMetrics {
  readonly registry: Registry;
  /** Allocates refused by the admission hook, by reason. */
  readonly refusals: Counter<'reason'>;
  /** Allocates refused for a quota (486), by reason (docs/api.md names this one). */
  readonly quotaRefusals: Counter<'reason'>;
  readonly admissions: Counter;
  readonly liveAllocations: Gauge;
  readonly credentialsIssued: Counter<'mode'>;
  readonly httpRequests: Counter<'route' | 'status'>;
  readonly usageFlushFailures: Counter;
}

/** Registers the metrics in `registry` (a new one when absent). */
export function createControlMetrics(registry = new Registry()): ControlMetrics {
  const registers = [registry];
  return {
    registry,
    refusals: new Counter({
      name: 'cloudproxy_control_admission_refusals_total',
      help: 'TURN Allocates refused by the control plane, by reason',
      labelNames: ['reason'],
      registers,
    }),
    quotaRefusals: new Counter({
      name: 'cloudproxy_control_quota_refusals_total',
      help: 'TURN Allocates refused with 486 because a reservation limit was reached, by limit',
      labelNames: ['reason'],
      registers,
    }),
    admissions: new Counter({
      name: 'cloudproxy_control_admissions_total',
      help: 'TURN Allocates of app credentials admitted',
      registers,
    }),
    liveAllocations: new Gauge({
      name: 'cloudproxy_control_live_allocations',
      help: 'Admitted allocations of app credentials not yet released',
      registers,
    }),
    credentialsIssued: new Counter({
      name: 'cloudproxy_control_credentials_issued_total',
      help: 'Credentials issued through the API, by mode',
      labelNames: ['mode'],
      registers,
    }),
    httpRequests: new Counter({
      name: 'cloudproxy_control_http_requests_total',
      help: 'API requests by route pattern and status',
      labelNames: ['route', 'status'],
      registers,
    }),
    usageFlushFailures: new Counter({
      name: 'cloudproxy_control_usage_flush_failures_total',
      help: 'Usage flushes to the store that failed (the deltas are kept and retried)',
      registers,
    }),
  };
}
