/**
 * Recognises the errors of a store that cannot answer right now (PostgreSQL down or restarting,
 * a connection cut, SQLite on a full or failing disk), as opposed to a bug or a bad request, so
 * that the API refuses with a retryable 503 `unavailable` instead of a 500.
 * @module
 */
import { ApiProblem } from '../errors.js';

/** Seconds a client is told to wait (`Retry-After`) when the store is unavailable. */
export const STORE_RETRY_AFTER_S = 5;

/** Socket errors of a lost or refused database connection. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOENT',
]);

/** SQLite result codes of a disk or lock problem (the primary code before any `_` suffix). */
const SQLITE_CODES: Readonly<Record<string, string>> = {
  SQLITE_FULL: 'disk full',
  SQLITE_IOERR: 'disk I/O error',
  SQLITE_BUSY: 'database busy',
  SQLITE_LOCKED: 'database locked',
  SQLITE_READONLY: 'database read-only',
  SQLITE_CANTOPEN: 'cannot open the database file',
};

/** PostgreSQL SQLSTATEs: class 08 (connection exception), 53 (insufficient resources), 57P0x. */
function postgresReason(code: string): string | undefined {
  if (code.startsWith('08')) return `connection exception (${code})`;
  if (code === '53100') return 'disk full on the database server (53100)';
  if (code.startsWith('53')) return `insufficient resources (${code})`;
  if (/^57P0[1-4]$/.test(code)) return `server shutting down or starting (${code})`;
  return undefined;
}

/** pg's own messages when a connection ends or cannot be made in time. */
const PG_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client was closed and is not queryable/i,
  /Cannot use a pool after calling end/i,
];

function reasonOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return `connection failed (${code})`;
    const sqlite = SQLITE_CODES[code.replace(/^(SQLITE_[A-Z]+?)(_[A-Z_]+)?$/, '$1')];
    if (sqlite !== undefined) return `${sqlite} (${code})`;
    const pg = postgresReason(code);
    if (pg !== undefined) return pg;
  }
  if (typeof message === 'string' && PG_MESSAGES.some((re) => re.test(message)))
    return `connection lost (${message})`;
  return undefined;
}

/**
 * Why the store is unavailable according to `error` (its `cause` chain and the errors of an
 * `AggregateError` are searched), or undefined when `error` is something else.
 */
export function storeUnavailableReason(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 16) {
    const current = queue.shift();
    if (seen.has(current)) continue;
    seen.add(current);
    const reason = reasonOf(current);
    if (reason !== undefined) return reason;
    if (current instanceof AggregateError) queue.push(...(current.errors as unknown[]));
    if (current instanceof Error && current.cause !== undefined) queue.push(current.cause);
  }
  return undefined;
}

/**
 * The 503 `unavailable` refusal for a store error (with `Retry-After`), or undefined when the
 * error is not a store outage.
 */
export function storeUnavailableProblem(error: unknown): ApiProblem | undefined {
  const reason = storeUnavailableReason(error);
  if (reason === undefined) return undefined;
  return new ApiProblem('unavailable', `the store is unavailable: ${reason}; retry later`, {
    headers: { 'retry-after': String(STORE_RETRY_AFTER_S) },
    cause: error,
  });
}
