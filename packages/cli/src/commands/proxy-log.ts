/**
 * The log of `cloudproxy proxy`: the command logger (pino JSON lines) writing through a
 * {@link LineBatcher}, plus the access log's fast path. The proxy writes a line per request, and
 * on its one core every microsecond of that line shows in its rate, so:
 *
 * - access lines have a fixed layout (`formatAccessLine`: the same fields in the same order as
 *   pino writes them) and are formatted in groups of {@link ACCESS_GROUP}, not one between every
 *   two requests, where the formatting code has left the CPU caches;
 * - lines are encoded straight into one buffer and written with synchronous writes of whole lines,
 *   as nginx writes its access log: an asynchronous file write per batch costs a thread-pool round
 *   trip that took more time than formatting and writing the lines;
 * - batches are about 3 KiB (at most 4 KiB, PIPE_BUF, per write) to stdout, so lines of workers
 *   sharing a pipe never mix, and about 12 KiB (at most 16 KiB) to a log file, opened for
 *   appending, where every write lands whole; either way at least once a second.
 * @module
 */
import { fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { formatAccessLine } from '@cloudproxy/proxy';
import type { AccessLogEntry, ProxyLogger } from '@cloudproxy/proxy';
import { createLogger } from '../logger.js';
import type { CommandLogger, LogDestination } from '../logger.js';

/** Batch and write sizes of a {@link LineBatcher}. */
export interface BatchSizes {
  /** Pending bytes that trigger a write. */
  readonly batchBytes: number;
  /** Largest write of several lines; a longer line is written alone. */
  readonly maxWriteBytes: number;
}

/** To a pipe or terminal: writes of at most PIPE_BUF (4 KiB) are never interleaved. */
export const PIPE_BATCH: BatchSizes = { batchBytes: 3 * 1024, maxWriteBytes: 4 * 1024 };
/** To a regular file opened for appending: every write lands whole. */
export const FILE_BATCH: BatchSizes = { batchBytes: 12 * 1024, maxWriteBytes: 16 * 1024 };
/** Access entries formatted together. */
export const ACCESS_GROUP = 32;
/** How long a write that would block (`EAGAIN`) is retried before its batch is dropped. */
const MAX_BLOCKED_MS = 1000;
/** Most UTF-8 bytes one UTF-16 code unit takes. */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/** The system call the batcher writes with (injected by tests). */
export type WriteSyncFn = (fd: number, data: Uint8Array) => number;

/** Options of {@link LineBatcher}. */
export interface LineBatcherOptions {
  readonly sizes?: BatchSizes;
  readonly writeSync?: WriteSyncFn;
  /** Called once per error code when a batch cannot be written and is dropped. */
  readonly onDropped?: (error: NodeJS.ErrnoException) => void;
}

const systemWriteSync: WriteSyncFn = (fd, data) => writeSync(fd, data);

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` milliseconds (a write to a full pipe waits like a blocking one). */
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * LineBatcher encodes whole lines into one buffer and writes it to a file descriptor with
 * synchronous writes: once `batchBytes` are pending, before a line would push a write past
 * `maxWriteBytes`, and on {@link LineBatcher.flush}. Short writes are continued; a write that
 * would block is retried every millisecond for up to a second.
 */
export class LineBatcher implements LogDestination {
  readonly #fd: number;
  readonly #sizes: BatchSizes;
  readonly #writeSync: WriteSyncFn;
  readonly #onDropped: (error: NodeJS.ErrnoException) => void;
  readonly #reported = new Set<string>();
  readonly #buffer: Buffer;
  #used = 0;

  constructor(fd: number, options: LineBatcherOptions = {}) {
    this.#fd = fd;
    this.#sizes = options.sizes ?? PIPE_BATCH;
    this.#writeSync = options.writeSync ?? systemWriteSync;
    this.#onDropped = options.onDropped ?? reportDropped;
    this.#buffer = Buffer.allocUnsafe(this.#sizes.maxWriteBytes);
  }

  /** Adds one line (with its newline). */
  write(line: string): boolean {
    const room = this.#buffer.length - this.#used;
    // Short lines surely fit without measuring them; others are measured.
    const bytes =
      line.length * MAX_UTF8_BYTES_PER_UNIT <= room ? line.length : Buffer.byteLength(line);
    if (bytes > room) {
      this.flushSync();
      if (bytes > this.#buffer.length) {
        this.#writeAll(Buffer.from(line));
        return true;
      }
    }
    this.#used += this.#buffer.write(line, this.#used, 'utf8');
    if (this.#used >= this.#sizes.batchBytes) this.flushSync();
    return true;
  }

  flush(): void {
    this.flushSync();
  }

  flushSync(): void {
    if (this.#used === 0) return;
    const used = this.#used;
    this.#used = 0;
    this.#writeAll(this.#buffer.subarray(0, used));
  }

  #writeAll(bytes: Uint8Array): void {
    let rest = bytes;
    let blockedMs = 0;
    while (rest.length > 0) {
      try {
        rest = rest.subarray(this.#writeSync(this.#fd, rest));
      } catch (error) {
        const failure = error as NodeJS.ErrnoException;
        if (failure.code === 'EAGAIN' && blockedMs < MAX_BLOCKED_MS) {
          sleepMs(1);
          blockedMs++;
          continue;
        }
        this.#drop(failure);
        return;
      }
    }
  }

  #drop(error: NodeJS.ErrnoException): void {
    const code = error.code ?? 'unknown';
    if (this.#reported.has(code)) return;
    this.#reported.add(code);
    this.#onDropped(error);
  }
}

function reportDropped(error: NodeJS.ErrnoException): void {
  process.emitWarning(`log lines dropped: ${error.message}`, { code: 'CLOUDPROXY_LOG_DROPPED' });
}

/** The proxy command's logger, and the logger handed to the proxy (with the access fast path). */
export type ProxyCommandLogger = CommandLogger & { readonly proxy: ProxyLogger };

/**
 * The opening of an access line as pino writes it for this logger, `{"level":"info","time":…,
 * "pid":…,"name":…,`, for a time in milliseconds; formatted once per millisecond.
 */
function accessPrefix(name: string): (atMs: number) => string {
  const tail = `,"pid":${process.pid},"name":${JSON.stringify(name)},`;
  let lastMs = -1;
  let prefix = '';
  return (atMs) => {
    if (atMs !== lastMs) {
      lastMs = atMs;
      prefix = `{"level":"info","time":"${new Date(atMs).toISOString()}"${tail}`;
    }
    return prefix;
  };
}

/**
 * Creates the logger of `cloudproxy proxy`: JSON lines to `file` ('stdout', '-' or unset =
 * stdout), `debug` level when verbose (access lines are info, so always written), through a
 * {@link LineBatcher}. Access entries wait, with the time they were logged, until
 * {@link ACCESS_GROUP} are pending or another line or a flush comes, so lines keep their order.
 */
export function createProxyLogger(options: {
  verbose: boolean;
  file?: string | undefined;
  name: string;
}): ProxyCommandLogger {
  const file = options.file === 'stdout' || options.file === '-' ? undefined : options.file;
  const fd = file === undefined ? 1 : openLogFile(file);
  const batcher = new LineBatcher(fd, { sizes: isRegularFile(fd) ? FILE_BATCH : PIPE_BATCH });
  const prefix = accessPrefix(options.name);
  const entries: AccessLogEntry[] = [];
  const loggedAtMs: number[] = [];
  const formatEntries = (): void => {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry !== undefined) batcher.write(formatAccessLine(entry, prefix(loggedAtMs[i] ?? 0)));
    }
    entries.length = 0;
    loggedAtMs.length = 0;
  };
  const destination: LogDestination = {
    write: (line) => {
      formatEntries();
      return batcher.write(line);
    },
    flush: () => {
      formatEntries();
      batcher.flush();
    },
    flushSync: () => {
      formatEntries();
      batcher.flushSync();
    },
  };
  const log = createLogger({ ...options, destination });
  const proxy: ProxyLogger = {
    debug: log.debug,
    info: log.info,
    warn: log.warn,
    error: log.error,
    access: (entry) => {
      entries.push(entry);
      loggedAtMs.push(Date.now());
      if (entries.length >= ACCESS_GROUP) formatEntries();
    },
  };
  return Object.assign(log, { proxy });
}

/** True when `fd` is a regular file (false for a pipe, a terminal, or a descriptor not open). */
function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/** Opens the log file for appending, creating its directory. */
function openLogFile(file: string): number {
  mkdirSync(path.dirname(file), { recursive: true });
  return openSync(file, 'a');
}
