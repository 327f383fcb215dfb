/**
 * Splits `cloudproxy turn` argv into option occurrences, getopt_long style as coturn does.
 * @module
 */
import { TurnConfigError } from './turn-config-error.js';
import type { OptionOccurrence } from './turn-option-occurrence.js';
import { unsupportedOptionError, unsupportedShortOptionError } from './turn-option-occurrence.js';
import type { TurnOptionSpec } from './turn-option-spec.js';
import { findTurnOption, findTurnOptionByShort } from './turn-options-table.js';

/** Prefix of every command-line error message. */
export const ARGV_WHERE = 'cloudproxy turn';
const DIGITS = /^[0-9]+$/;

interface Cursor {
  readonly argv: readonly string[];
  /** Index of the next unread token. */
  next: number;
}

/**
 * Reads argv into occurrences, in order. Accepted forms, as getopt_long: `--name value`,
 * `--name=value`, `-x value`, `-xvalue`, bundled flags `-av`, `--` ending the options.
 * A flag takes a value only as `--flag=value`; an option with an optional value (e.g.
 * `--stale-nonce`) takes the next token only if it is a number. Positional arguments are refused.
 * @throws TurnConfigError for unknown or unsupported options, missing values and stray arguments.
 */
export function collectArgOccurrences(argv: readonly string[]): OptionOccurrence[] {
  const cursor: Cursor = { argv, next: 0 };
  const out: OptionOccurrence[] = [];
  while (cursor.next < argv.length) {
    const token = argv[cursor.next++] ?? '';
    if (token === '--') {
      refuseStray(argv[cursor.next]);
      break;
    }
    if (token.startsWith('--')) {
      out.push(readLong(cursor, token.slice(2)));
    } else if (token.startsWith('-') && token.length > 1) {
      out.push(...readShorts(cursor, token.slice(1)));
    } else {
      refuseStray(token);
    }
  }
  return out;
}

function refuseStray(token: string | undefined): void {
  if (token !== undefined) {
    throw new TurnConfigError(`${ARGV_WHERE}: unexpected argument '${token}'`);
  }
}

function readLong(cursor: Cursor, body: string): OptionOccurrence {
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const inline = eq < 0 ? undefined : body.slice(eq + 1);
  const spec = findTurnOption(name);
  if (spec === undefined) {
    throw unsupportedOptionError(ARGV_WHERE, name, `--${name}`);
  }
  const at = `${ARGV_WHERE}: --${spec.name}`;
  return { spec, at, value: inline ?? takeSeparateValue(cursor, spec) };
}

/** The value of `--name value`: the next token, if this option takes one in that position. */
function takeSeparateValue(cursor: Cursor, spec: TurnOptionSpec): string | undefined {
  if (spec.kind === 'flag') {
    return undefined;
  }
  const candidate = cursor.argv[cursor.next];
  const optional = spec.kind === 'int' && spec.bareValue !== undefined;
  if (candidate === undefined || (optional && !DIGITS.test(candidate))) {
    return undefined;
  }
  cursor.next++;
  return candidate;
}

function readShorts(cursor: Cursor, letters: string): OptionOccurrence[] {
  const out: OptionOccurrence[] = [];
  for (let i = 0; i < letters.length; i++) {
    const letter = letters.charAt(i);
    const spec = findTurnOptionByShort(letter);
    if (spec === undefined) {
      throw unsupportedShortOptionError(ARGV_WHERE, letter);
    }
    const at = `${ARGV_WHERE}: --${spec.name}`;
    if (spec.kind === 'flag') {
      out.push({ spec, at, value: undefined });
      continue;
    }
    // The rest of the token is the value (`-p3478`), else the next token (`-p 3478`).
    const rest = letters.slice(i + 1);
    out.push({ spec, at, value: rest === '' ? takeSeparateValue(cursor, spec) : rest });
    break;
  }
  return out;
}
