/**
 * The process logger: structured JSON lines (pino) to stdout or a log file (coturn `--log-file`).
 * Lines are written in batches (3 KiB, or at least once a second), as nginx's
 * `access_log … buffer=16k flush=1s` does: the signaling proxy logs a line per request, and a
 * write system call per line costs it about a tenth of its throughput.
 * @module
 */
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { Logger } from '@cloudproxy/turn/node';

/**
 * Smallest batch written to the destination. Kept small on purpose: the destination measures its
 * pending batch on every line, so a large batch costs more per line than the writes it saves.
 */
const BATCH_BYTES = 3 * 1024;
/**
 * Largest single write; must exceed the batch size. At most PIPE_BUF (4 KiB), and writes hold
 * whole lines, so processes sharing stdout (proxy workers) never interleave within a line.
 */
const MAX_WRITE_BYTES = 4 * 1024;
/** Longest time a line waits in the batch. */
const FLUSH_INTERVAL_MS = 1000;

/** Where a logger's lines go (pino's own batched destination unless a command brings one). */
export interface LogDestination {
  write(line: string): unknown;
  /** Writes what is pending (called at least once a second). */
  flush(): void;
  /** Writes what is pending before returning (called before exit). */
  flushSync(): void;
}

/** The logger of a command; `flush()` writes what is pending (call it before exit). */
export type CommandLogger = Logger & { flush(): void; readonly pino: pino.Logger };

/**
 * Opens the log file synchronously: a destination still opening when the process exits (a
 * startup error) would make pino's exit flush throw over the real error message.
 */
function openLogFile(file: string): number {
  mkdirSync(path.dirname(file), { recursive: true });
  return openSync(file, 'a');
}

/** pino's ISO time field, formatted once per millisecond rather than once per line. */
function cachedIsoTime(): () => string {
  let lastMs = -1;
  let field = '';
  return () => {
    const nowMs = Date.now();
    if (nowMs !== lastMs) {
      lastMs = nowMs;
      field = `,"time":"${new Date(nowMs).toISOString()}"`;
    }
    return field;
  };
}

/** Creates the logger: JSON lines, `debug` level when verbose, to `file` ('stdout', '-' or unset = stdout). */
export function createLogger(options: {
  verbose: boolean;
  file?: string | undefined;
  name: string;
  /** Replaces the destination `file` names (the proxy command brings its own). */
  destination?: LogDestination;
}): CommandLogger {
  const file = options.file === 'stdout' || options.file === '-' ? undefined : options.file;
  const destination: LogDestination =
    options.destination ??
    pino.destination({
      dest: file === undefined ? 1 : openLogFile(file),
      sync: false,
      minLength: BATCH_BYTES,
      maxWrite: MAX_WRITE_BYTES,
    });
  const log = pino(
    {
      name: options.name,
      level: options.verbose ? 'debug' : 'info',
      base: { pid: process.pid },
      timestamp: cachedIsoTime(),
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const timer = setInterval(() => {
    destination.flush();
  }, FLUSH_INTERVAL_MS);
  timer.unref();
  return {
    debug: (fields, message) => {
      log.debug(fields, message);
    },
    info: (fields, message) => {
      log.info(fields, message);
    },
    warn: (fields, message) => {
      log.warn(fields, message);
    },
    error: (fields, message) => {
      log.error(fields, message);
    },
    flush: () => {
      destination.flushSync();
    },
    pino: log,
  };
}
