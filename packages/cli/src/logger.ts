/**
 * The process logger: structured JSON lines (pino) to stdout or a log file (coturn `--log-file`).
 * @module
 */
import pino from 'pino';
import type { Logger } from '@cloudproxy/turn/node';

/** Creates the logger: JSON lines, `debug` level when verbose, to `file` ('stdout' or unset = stdout). */
export function createLogger(options: {
  verbose: boolean;
  file?: string | undefined;
  name: string;
}): Logger & { flush(): void } {
  const destination =
    options.file && options.file !== 'stdout' && options.file !== '-'
      ? pino.destination({ dest: options.file, mkdir: true, sync: false })
      : pino.destination({ dest: 1, sync: false });
  const log = pino(
    {
      name: options.name,
      level: options.verbose ? 'debug' : 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
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
  };
}
