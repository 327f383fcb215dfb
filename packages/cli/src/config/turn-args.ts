/**
 * The coturn-compatible configuration of `cloudproxy turn`: command line, turnserver.conf, both.
 * @module
 */
import { ARGV_WHERE, collectArgOccurrences } from './turn-argv.js';
import { collectFileOccurrences } from './turn-config-file.js';
import { createTurnConfigDraft, finishTurnConfig } from './turn-config-draft.js';
import type { ParsedTurnConfig, TurnConfigDraft } from './turn-config-draft.js';
import { TurnConfigError } from './turn-config-error.js';
import { applyOccurrence } from './turn-option-occurrence.js';
import type { OptionOccurrence } from './turn-option-occurrence.js';

export type { ParsedTurnConfig, TurnCliOptions } from './turn-config-draft.js';

/** The configuration `loadTurnConfig` returns (same shape as {@link ParsedTurnConfig}). */
export type LoadedTurnConfig = ParsedTurnConfig;

/** A config file as read from disk: its text and, if known, its POSIX mode (for the secrets check). */
export interface TurnConfigSource {
  readonly text: string;
  readonly mode?: number | undefined;
}

/**
 * Reads a config file by path (the `-c` argument), synchronously: startup is not the place for
 * concurrency, and SIGHUP reloads reuse it. Return the text alone or with the mode. Errors
 * (e.g. ENOENT) are wrapped in a TurnConfigError naming the file.
 */
export type TurnConfigReader = (path: string) => TurnConfigSource | string;

/**
 * Parses `cloudproxy turn` arguments (argv after `turn`) without reading any file; `-c FILE`
 * is only recorded in `cli.configFile`.
 * @throws TurnConfigError naming the option: unknown (`unknown option --x`), coturn's but not
 *   supported (`option --mobility (coturn) is not supported`), or with a bad value
 *   (`--listening-port: expected an integer 0-65535, got 'abc'`).
 * @example
 * parseTurnArgs(['-p', '3478', '--use-auth-secret', '--static-auth-secret=north']).server
 */
export function parseTurnArgs(argv: readonly string[]): ParsedTurnConfig {
  return build(createTurnConfigDraft(), collectArgOccurrences(argv), ARGV_WHERE);
}

/**
 * Parses turnserver.conf text (coturn syntax, see `collectFileOccurrences`) on its own.
 * @param mode the file's POSIX mode, if known: a world-readable file holding `user` or
 *   `static-auth-secret` gets a warning.
 * @throws TurnConfigError naming `file:line` and the option.
 */
export function parseTurnConfigFile(
  text: string,
  fileName: string,
  mode?: number,
): ParsedTurnConfig {
  const file = collectFileOccurrences(text, fileName, mode);
  const draft = createTurnConfigDraft();
  draft.warnings.push(...file.warnings);
  return build(draft, file.occurrences, fileName);
}

/**
 * Loads the whole configuration: the `-c FILE` config file first (unless `-n`), then the command
 * line, which overrides single-valued options and extends repeatable ones (`--listening-ip`,
 * `--user`, `--static-auth-secret`, `--denied-peer-ip`…: file values, then argv values).
 * @throws TurnConfigError for any bad option, value or file (naming it), or a file that cannot be read.
 */
export function loadTurnConfig(
  argv: readonly string[],
  readFile: TurnConfigReader,
): LoadedTurnConfig {
  const args = collectArgOccurrences(argv);
  const draft = createTurnConfigDraft();
  args
    .filter((o) => ['config', 'no-config', 'strict-config-permissions'].includes(o.spec.name))
    .forEach((o) => {
      applyOccurrence(draft, o);
    });
  const path = draft.configFile;
  if (path !== undefined && draft.noConfigFile) {
    draft.warnings.push(`config file ${path} not read: -n (no config file) was given`);
  }
  if (path !== undefined && !draft.noConfigFile) {
    const source = readSource(readFile, path);
    const file = collectFileOccurrences(source.text, path, source.mode);
    if (file.unsafePermissions !== undefined && draft.strictConfigPermissions) {
      throw new TurnConfigError(
        `${ARGV_WHERE}: --strict-config-permissions: ${file.unsafePermissions}`,
      );
    }
    draft.warnings.push(...file.warnings);
    file.occurrences.forEach((o) => {
      applyOccurrence(draft, o);
    });
  }
  return build(draft, args, ARGV_WHERE);
}

/** Applies the occurrences in order (the last single value wins) and checks the result. */
function build(
  draft: TurnConfigDraft,
  occurrences: readonly OptionOccurrence[],
  where: string,
): ParsedTurnConfig {
  occurrences.forEach((o) => {
    applyOccurrence(draft, o);
  });
  return finishTurnConfig(draft, where);
}

function readSource(readFile: TurnConfigReader, path: string): TurnConfigSource {
  try {
    const source = readFile(path);
    return typeof source === 'string' ? { text: source } : source;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TurnConfigError(`${ARGV_WHERE}: cannot read config file ${path}: ${reason}`, {
      cause,
    });
  }
}
