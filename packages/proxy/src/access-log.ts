/**
 * The access log and refusal log lines, and the metrics recorded with them.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Admission } from './admission.js';
import type { AccessLogEntry } from './options.js';
import type { ProxyRuntime } from './runtime.js';

/** A refused request: the reason, and what is known of its upstream and client. */
export type Refused = Exclude<Admission, { ok: true }>;

/** Fields of one access log line, as the exchange reports them (the duration is added here). */
export type AccessRecord = Omit<AccessLogEntry, 'durationMs'>;

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

/** The message of an access log line. */
function accessMessage(entry: AccessLogEntry): string {
  return entry.websocket === true ? 'websocket closed' : 'proxied';
}

/** An entry being built; finished entries are read-only. */
type MutableEntry = { -readonly [K in keyof AccessLogEntry]: AccessLogEntry[K] };

/**
 * Logs (info) one finished exchange: to the logger's `access` fast path when it has one,
 * otherwise as `info({ event: 'proxy.access', ...entry }, message)`.
 */
export function logAccess(rt: ProxyRuntime, record: AccessRecord, startMs: number): void {
  // The fields are listed one by one (no spread): this runs once per request.
  const entry: MutableEntry = {
    method: record.method,
    upstream: record.upstream,
    path: withoutQuery(record.path),
    status: record.status,
    bytesIn: record.bytesIn,
    bytesOut: record.bytesOut,
    client: record.client,
    durationMs: Math.round(elapsedMs(startMs)),
  };
  if (record.websocket !== undefined) entry.websocket = record.websocket;
  if (record.closeCodes !== undefined) entry.closeCodes = record.closeCodes;
  const { logger } = rt.options;
  if (logger.access !== undefined) {
    logger.access(entry);
    return;
  }
  const fields: Record<string, unknown> = {
    event: 'proxy.access',
    method: entry.method,
    upstream: entry.upstream,
    path: entry.path,
    status: entry.status,
    bytesIn: entry.bytesIn,
    bytesOut: entry.bytesOut,
    client: entry.client,
    durationMs: entry.durationMs,
  };
  if (entry.websocket !== undefined) fields['websocket'] = entry.websocket;
  if (entry.closeCodes !== undefined) fields['closeCodes'] = entry.closeCodes;
  logger.info(fields, accessMessage(entry));
}

/**
 * One access log entry as a JSON line, its fields in a fixed order (the order `info` would
 * serialize them in): `prefix`, then `"event":"proxy.access"`, `method`, `upstream`, `path`,
 * `status`, `bytesIn`, `bytesOut`, `client`, `durationMs`, `websocket` and `closeCodes` when
 * set, and `msg`, followed by a newline.
 * @param prefix the opening of the JSON object with the logger's own fields, ending in a comma:
 *   `{"level":"info","time":"…",`.
 * @example
 * formatAccessLine(entry, '{"level":"info",');
 * // '{"level":"info","event":"proxy.access","method":"GET",…,"msg":"proxied"}\n'
 */
export function formatAccessLine(entry: AccessLogEntry, prefix: string): string {
  let line =
    `${prefix}"event":"proxy.access","method":${JSON.stringify(entry.method)}` +
    `,"upstream":${JSON.stringify(entry.upstream)},"path":${JSON.stringify(entry.path)}` +
    `,"status":${entry.status},"bytesIn":${entry.bytesIn},"bytesOut":${entry.bytesOut}` +
    `,"client":${JSON.stringify(entry.client)},"durationMs":${entry.durationMs}`;
  if (entry.websocket !== undefined) line += `,"websocket":${entry.websocket}`;
  const codes = entry.closeCodes;
  if (codes !== undefined) {
    line += `,"closeCodes":{"client":${codes.client},"upstream":${codes.upstream}}`;
  }
  return `${line},"msg":"${accessMessage(entry)}"}\n`;
}
