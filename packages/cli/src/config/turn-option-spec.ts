/**
 * TurnOptionSpec: how one `cloudproxy turn` option is described, parsed and applied to the draft.
 * @module
 */
import type { TurnConfigDraft } from './turn-config-draft.js';

/** Help and documentation sections, in display order. */
export const TURN_OPTION_GROUPS = {
  general: 'General',
  listeners: 'Listeners',
  relay: 'Relay',
  auth: 'Authentication',
  'peer-policy': 'Peer policy',
  quotas: 'Quotas',
  tls: 'TLS',
  lifetimes: 'Lifetimes',
  logging: 'Logging and metrics',
} as const;
/** A key of {@link TURN_OPTION_GROUPS}. */
export type TurnOptionGroup = keyof typeof TURN_OPTION_GROUPS;

/** What every option spec has, whatever its value kind. */
export interface TurnOptionBase {
  /** coturn's long name, without dashes (case-sensitive: `Verbose` ≠ `verbose`). */
  readonly name: string;
  /** coturn's one-letter alias, if any. */
  readonly short?: string;
  readonly group: TurnOptionGroup;
  /** One line for `--help`. */
  readonly description: string;
  /** The default as shown in help and docs. */
  readonly defaultText?: string;
  /** How the option differs from coturn's; omitted when it behaves the same. */
  readonly coturnNote?: string;
  /** Only on the command line, never in a config file (`-c`, `-n`, `-h`). */
  readonly argvOnly?: boolean;
}

/** A boolean option: `--name`, `--name=false`, or `name` / `name=off` in a file. */
export interface FlagOptionSpec extends TurnOptionBase {
  readonly kind: 'flag';
  readonly apply: (draft: TurnConfigDraft, value: boolean, at: string) => void;
}

/** An option with one string value; the last occurrence wins. */
export interface StringOptionSpec extends TurnOptionBase {
  readonly kind: 'string';
  readonly valueName: string;
  readonly apply: (draft: TurnConfigDraft, value: string, at: string) => void;
}

/** An option with one integer value in `min`..`max`; the last occurrence wins. */
export interface IntOptionSpec extends TurnOptionBase {
  readonly kind: 'int';
  readonly valueName: string;
  readonly min: number;
  readonly max: number;
  /** Value used when the option is given without one (coturn's optional argument), if allowed. */
  readonly bareValue?: number;
  readonly apply: (draft: TurnConfigDraft, value: number, at: string) => void;
}

/** An option that may be given many times; file and command-line occurrences accumulate. */
export interface RepeatableOptionSpec extends TurnOptionBase {
  readonly kind: 'repeatable';
  readonly valueName: string;
  readonly apply: (draft: TurnConfigDraft, value: string, at: string) => void;
}

/** One supported option of `cloudproxy turn`. */
export type TurnOptionSpec =
  FlagOptionSpec | StringOptionSpec | IntOptionSpec | RepeatableOptionSpec;

/** Optional fields of a spec, given as the last argument of the builders below. */
export type TurnOptionExtras = Omit<TurnOptionBase, 'name' | 'group' | 'description'>;
/** Value name and bounds of an integer option. */
export type IntRange = Pick<IntOptionSpec, 'valueName' | 'min' | 'max' | 'bareValue'>;
/** `[valueName, description]` of an option taking a value. */
export type ValueHelp = readonly [valueName: string, description: string];
/** Parses and checks one value, throwing a TurnConfigError that starts with `at`. */
export type ValueParser = (at: string, text: string) => string;

type ListKey = {
  [K in keyof TurnConfigDraft]: TurnConfigDraft[K] extends string[] ? K : never;
}[keyof TurnConfigDraft];
type StringKey =
  'realm' | 'certFile' | 'keyFile' | 'logFile' | 'pidfile' | 'configFile' | 'prometheusAddress';

/** Builds a flag spec. */
export function flag(
  name: string,
  group: TurnOptionGroup,
  description: string,
  apply: FlagOptionSpec['apply'],
  extras: TurnOptionExtras = {},
): FlagOptionSpec {
  return { kind: 'flag', name, group, description, apply, ...extras };
}

/** Builds a single-string spec. */
export function str(
  name: string,
  group: TurnOptionGroup,
  [valueName, description]: ValueHelp,
  apply: StringOptionSpec['apply'],
  extras: TurnOptionExtras = {},
): StringOptionSpec {
  return { kind: 'string', name, group, valueName, description, apply, ...extras };
}

/** Builds an integer spec. */
export function int(
  name: string,
  group: TurnOptionGroup,
  description: string,
  range: IntRange,
  apply: IntOptionSpec['apply'],
  extras: TurnOptionExtras = {},
): IntOptionSpec {
  return { kind: 'int', name, group, description, ...range, apply, ...extras };
}

/** Builds a repeatable spec. */
export function list(
  name: string,
  group: TurnOptionGroup,
  [valueName, description]: ValueHelp,
  apply: RepeatableOptionSpec['apply'],
  extras: TurnOptionExtras = {},
): RepeatableOptionSpec {
  return { kind: 'repeatable', name, group, valueName, description, apply, ...extras };
}

/** An `apply` that stores the value in one draft field, typed by that field. */
export function field<K extends keyof TurnConfigDraft>(
  key: K,
): (draft: TurnConfigDraft, value: TurnConfigDraft[K]) => void {
  return (draft, value) => {
    draft[key] = value;
  };
}

/** An `apply` that checks a string value and stores it in one draft field. */
export function parsedField(
  key: StringKey,
  parse: ValueParser,
): (draft: TurnConfigDraft, value: string, at: string) => void {
  return (draft, value, at) => {
    draft[key] = parse(at, value);
  };
}

/** An `apply` that checks a value and appends it to one draft list. */
export function pushTo(
  key: ListKey,
  parse: ValueParser,
): (draft: TurnConfigDraft, value: string, at: string) => void {
  return (draft, value, at) => {
    draft[key].push(parse(at, value));
  };
}

/** An `apply` for options accepted for compatibility whose behaviour is already cloudproxy's. */
export function alreadySo(): void {
  // Nothing to do: see the option's coturnNote.
}
