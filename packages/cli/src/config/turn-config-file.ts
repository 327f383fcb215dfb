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
  if (mode !== undefined && (mode & WORLD_READABLE) !== 0) {
    const secrets = occurrences.filter((o) => SECRET_OPTIONS.has(o.spec.name));
    if (secrets.length > 0) {
      const names = [...new Set(secrets.map((o) => o.spec.name))].join(', ');
      warnings.push(
        `${fileName} is readable by every user (mode ${(mode & 0o777).toString(8)}) and holds secrets (${names}); run chmod 600 ${fileName}`,
      );
    }
  }
  return { occurrences, warnings };
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
