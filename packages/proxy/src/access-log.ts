/**
 * The access log and refusal log lines, and the metrics recorded with them.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Admission } from './admission.js';
import type { ProxyRuntime } from './runtime.js';

/** A refused request: the reason, and what is known of its upstream and client. */
export type Refused = Exclude<Admission, { ok: true }>;

/** Fields of one access log line. */
export interface AccessRecord {
  readonly method: string;
  readonly upstream: string;
  readonly path: string;
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly client: string;
  readonly websocket?: boolean;
  readonly closeCodes?: { readonly client: number; readonly upstream: number };
}

/** Milliseconds since `startMs` (a `performance.now()` reading). */
export function elapsedMs(startMs: number): number {
  return performance.now() - startMs;
}

/** Logs (warn) and counts a refusal. */
export function logRefusal(
  rt: ProxyRuntime,
  req: IncomingMessage,
  refused: Refused,
  startMs: number,
): void {
  rt.metrics.refusal(refused.code);
  rt.options.logger.warn(
    {
      event: 'proxy.refused',
      code: refused.code,
      reason: refused.message,
      method: req.method,
      upstream: refused.target?.authority,
      client: refused.client.address,
      durationMs: Math.round(elapsedMs(startMs)),
    },
    'request refused',
  );
}

/** The path without its query, which may carry tokens and is not logged. */
function withoutQuery(path: string): string {
  const queryAt = path.indexOf('?');
  return queryAt === -1 ? path : path.slice(0, queryAt);
}

/** Logs (info) one finished exchange and records its status and latency. */
export function logAccess(rt: ProxyRuntime, record: AccessRecord, startMs: number): void {
  const durationMs = elapsedMs(startMs);
  // The fields are listed one by one (no spread): this runs once per request.
  const fields: Record<string, unknown> = {
    event: 'proxy.access',
    method: record.method,
    upstream: record.upstream,
    path: withoutQuery(record.path),
    status: record.status,
    bytesIn: record.bytesIn,
    bytesOut: record.bytesOut,
    client: record.client,
    durationMs: Math.round(durationMs),
  };
  if (record.websocket !== undefined) fields['websocket'] = record.websocket;
  if (record.closeCodes !== undefined) fields['closeCodes'] = record.closeCodes;
  rt.options.logger.info(fields, record.websocket === true ? 'websocket closed' : 'proxied');
}
