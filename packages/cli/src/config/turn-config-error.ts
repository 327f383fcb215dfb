/**
 * TurnConfigError: a bad `cloudproxy turn` command line or turnserver.conf, named by option and place.
 * @module
 */

/**
 * TurnConfigError is thrown for an unknown or unsupported option, a bad value or a missing one.
 * The message says where (`cloudproxy turn:` for the command line, `<file>:<line>:` for a config
 * file), names the option and what was received, e.g.
 * `cloudproxy turn: --listening-port: expected an integer 0-65535, got 'abc'`.
 * Match on `code` (`ERR_CLI_TURN_CONFIG`).
 */
export class TurnConfigError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_CLI_TURN_CONFIG';

  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = 'TurnConfigError';
  }
}

/** Catalog entry of {@link TurnConfigError}, for the package's error catalog and docs/errors.md. */
export const TURN_CONFIG_ERROR_CODE = {
  code: 'ERR_CLI_TURN_CONFIG',
  description:
    'A `cloudproxy turn` option or turnserver.conf line is unknown, unsupported (a coturn option cloudproxy does not implement), or has a bad or missing value. The message names the option and, for files, file:line.',
} as const;
