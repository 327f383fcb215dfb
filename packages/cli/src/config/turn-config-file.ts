/**
 * Reads coturn's turnserver.conf syntax into option occurrences, with file:line for messages.
 * @module
 */
import { TurnConfigError } from './turn-config-error.js';
import type { OptionOccurrence } from './turn-option-occurrence.js';
import { unsupportedOptionError } from './turn-option-occurrence.js';
import { findTurnOption } from './turn-options-table.js';

/** Options whose presence makes a world-readable config file a leak. */
const SECRET_OPTIONS = new Set(['user', 'static-auth-secret']);
/** "Others may read" permission bit of a POSIX file mode. */
const WORLD_READABLE = 0o004;
/** A line: the name, then any run of blanks and '=' (coturn `parse_arg_string`), then the value. */
const LINE = /^([^\s=]+)[\s=]*(.*)$/;

/** Occurrences read from a config file, plus warnings about the file itself. */
export interface ConfigFileOccurrences {
  readonly occurrences: OptionOccurrence[];
  readonly warnings: string[];
  /** Set when others may read the file and it holds secrets: the message (also in `warnings`). */
  readonly unsafePermissions?: string | undefined;
}

/**
 * Reads turnserver.conf text. As in coturn: one option per line, its long name without dashes;
 * the value follows after `=`, blanks, or both (`name=value`, `name = value`, `name value`);
 * a bare name is a flag set to true; lines starting with `#` are comments (there are no
 * end-of-line comments: `#` inside a value is part of it); surrounding double or single quotes
 * are removed from a value. Options repeat as on the command line.
 * @param mode the file's POSIX mode, if known: a world-readable file holding `user` or
 *   `static-auth-secret` yields a warning.
 * @throws TurnConfigError naming `file:line` and the option.
 */
export function collectFileOccurrences(
  text: string,
  fileName: string,
  mode?: number,
): ConfigFileOccurrences {
  const occurrences: OptionOccurrence[] = [];
  const warnings: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      return;
    }
    const where = `${fileName}:${index + 1}`;
    if (line.endsWith(';')) {
      warnings.push(`${where}: line ends with ';', which is part of the value`);
    }
    occurrences.push(readLine(line, where));
  });
  const unsafePermissions = permissionProblem(occurrences, fileName, mode);
  if (unsafePermissions !== undefined) warnings.push(unsafePermissions);
  return { occurrences, warnings, unsafePermissions };
}

/** The message for a world-readable file holding secrets, or undefined when the file is safe. */
function permissionProblem(
  occurrences: readonly OptionOccurrence[],
  fileName: string,
  mode: number | undefined,
): string | undefined {
  if (mode === undefined || (mode & WORLD_READABLE) === 0) return undefined;
  const secrets = occurrences.filter((o) => SECRET_OPTIONS.has(o.spec.name));
  if (secrets.length === 0) return undefined;
  return worldReadableMessage(fileName, mode, [...new Set(secrets.map((o) => o.spec.name))]);
}

/**
 * The message for a config file that others may read and that holds the secrets `names`, or
 * undefined when the file is not world-readable or holds none.
 */
export function worldReadableMessage(
  fileName: string,
  mode: number,
  names: readonly string[],
): string | undefined {
  if ((mode & WORLD_READABLE) === 0 || names.length === 0) return undefined;
  return `${fileName} is readable by every user (mode ${(mode & 0o777).toString(8)}) and holds secrets (${names.join(', ')}); run chmod 600 ${fileName}`;
}

function readLine(line: string, where: string): OptionOccurrence {
  const match = LINE.exec(line);
  const name = match?.[1] ?? line;
  const rawValue = match?.[2] ?? '';
  const spec = findTurnOption(name);
  if (spec === undefined) {
    throw unsupportedOptionError(where, name, name);
  }
  if (spec.argvOnly === true) {
    throw new TurnConfigError(`${where}: ${name} is only valid on the command line`);
  }
  return { spec, at: `${where}: ${name}`, value: rawValue === '' ? undefined : unquote(rawValue) };
}

function unquote(value: string): string {
  const first = value.charAt(0);
  const quoted = value.length >= 2 && (first === '"' || first === "'") && value.endsWith(first);
  return quoted ? value.slice(1, -1) : value;
}
