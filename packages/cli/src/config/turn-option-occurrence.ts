/**
 * One occurrence of a `cloudproxy turn` option, from argv or a config file, and applying it.
 * @module
 */
import { COTURN_SHORT_OPTIONS, isCoturnOption } from './coturn-options.js';
import type { TurnConfigDraft } from './turn-config-draft.js';
import { TurnConfigError } from './turn-config-error.js';
import type { TurnOptionSpec } from './turn-option-spec.js';
import { parseBoolValue, parseIntValue } from './turn-option-values.js';

/** An option as written once: which option, its raw value, and where (for messages). */
export interface OptionOccurrence {
  readonly spec: TurnOptionSpec;
  /** The raw value, or undefined when the option was given bare. */
  readonly value: string | undefined;
  /** Prefix of error messages: `cloudproxy turn: --realm` or `turnserver.conf:7: realm`. */
  readonly at: string;
}

/**
 * Parses the occurrence's value by the option's kind and applies it to the draft.
 * @throws TurnConfigError for a missing or malformed value.
 */
export function applyOccurrence(draft: TurnConfigDraft, occurrence: OptionOccurrence): void {
  const { spec, value, at } = occurrence;
  switch (spec.kind) {
    case 'flag':
      spec.apply(draft, parseBoolValue(at, value), at);
      return;
    case 'int':
      spec.apply(draft, intValue(occurrence, spec.bareValue, spec.min, spec.max), at);
      return;
    case 'string':
    case 'repeatable':
      spec.apply(draft, requireValue(occurrence), at);
      return;
  }
}

function intValue(
  occurrence: OptionOccurrence,
  bareValue: number | undefined,
  min: number,
  max: number,
): number {
  if (occurrence.value === undefined && bareValue !== undefined) {
    return bareValue;
  }
  return parseIntValue(occurrence.at, requireValue(occurrence), min, max);
}

function requireValue({ value, at, spec }: OptionOccurrence): string {
  if (value === undefined) {
    const valueName = spec.kind === 'flag' ? '' : ` ${spec.valueName}`;
    throw new TurnConfigError(`${at}: missing value${valueName}`);
  }
  return value;
}

/**
 * The error for a long option name that is not supported: coturn's own names are refused as
 * "(coturn) is not supported", anything else as unknown.
 * @param where `cloudproxy turn` or `<file>:<line>`.
 * @param written the name as to show it: `--mobility` on the command line, `mobility` in a file.
 */
export function unsupportedOptionError(
  where: string,
  name: string,
  written: string,
): TurnConfigError {
  return new TurnConfigError(
    isCoturnOption(name)
      ? `${where}: option ${written} (coturn) is not supported`
      : `${where}: unknown option ${written}`,
  );
}

/** The error for a one-letter option that is not supported, naming coturn's long form if any. */
export function unsupportedShortOptionError(where: string, letter: string): TurnConfigError {
  const long = COTURN_SHORT_OPTIONS[letter];
  return new TurnConfigError(
    long === undefined
      ? `${where}: unknown option -${letter}`
      : `${where}: option -${letter} (coturn --${long}) is not supported`,
  );
}
