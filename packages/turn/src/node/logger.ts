/**
 * Logger: the structured logger the driver writes to (pino-compatible), injected by the CLI.
 * @module
 */

/** A log method: structured fields first, then the message (pino's signature). */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/** Logger is the subset of pino the server uses. */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** A logger that discards everything (the default for embedding and tests). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
