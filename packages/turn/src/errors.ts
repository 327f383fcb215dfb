/**
 * The error catalog of @cloudproxy/turn: every error class this package throws, with its stable code.
 * @module
 */

/** A value substituted into a `%s` placeholder of an error message template. */
export type ErrorValue = string | number | bigint | boolean;

/** Options accepted by every catalog error constructor (ES2022 `cause`). */
export interface TurnErrorOptions {
  readonly cause?: unknown;
}

/** An error created from the catalog: an `Error` with a stable `code` of the form `ERR_TURN_*`. */
export interface TurnError<Code extends string = string> extends Error {
  /** Stable error code; match on it across package boundaries, not on `instanceof`. */
  readonly code: Code;
}

/**
 * A catalog error class: `new X(...values)` or `new X(...values, { cause })` fills the `%s`
 * placeholders of the message template in order.
 */
export interface TurnErrorClass<Code extends string> {
  new (...values: ErrorValue[]): TurnError<Code>;
  new (...args: [...values: ErrorValue[], options: TurnErrorOptions]): TurnError<Code>;
  /** The code every instance carries. */
  readonly code: Code;
  readonly prototype: TurnError<Code>;
}

/**
 * Creates an error class with a stable `code` and a message template whose `%s` placeholders are
 * filled, in order, by the constructor arguments (fastify's `createError`). Placeholders without a
 * value stay as `%s`; extra values are ignored. The class `name` defaults to the code without its
 * `ERR_<AREA>_` prefix in PascalCase plus `Error` (`ERR_TURN_INVALID_OPTION` → `InvalidOptionError`).
 *
 * @example
 * const QuotaError = createError('ERR_TURN_QUOTA', 'quota of %s exceeded: %s allocations');
 * throw new QuotaError('alice', 10, { cause });
 */
export function createError<const Code extends string>(
  code: Code,
  messageTemplate: string,
  name: string = nameFromCode(code),
): TurnErrorClass<Code> {
  class CatalogError extends Error implements TurnError<Code> {
    static readonly code = code;
    readonly code = code;

    constructor(...args: (ErrorValue | TurnErrorOptions)[]) {
      const last = args.at(-1);
      const options = typeof last === 'object' ? last : undefined;
      super(formatTemplate(messageTemplate, args.filter(isErrorValue)), options);
      this.name = name;
    }
  }
  return CatalogError;
}

function isErrorValue(value: ErrorValue | TurnErrorOptions): value is ErrorValue {
  return typeof value !== 'object';
}

function formatTemplate(template: string, values: readonly ErrorValue[]): string {
  let next = 0;
  return template.replace(/%s/g, (placeholder) => {
    const value = values[next++];
    return value === undefined ? placeholder : String(value);
  });
}

/** `ERR_TURN_INVALID_OPTION` → `InvalidOptionError`. */
function nameFromCode(code: string): string {
  const words = code.split('_').slice(2);
  const pascal = words.map((w) => w.charAt(0) + w.slice(1).toLowerCase()).join('');
  return `${pascal}Error`;
}

/**
 * InvalidOptionError is thrown at construction when an option is missing, out of range or
 * inconsistent with another. Message: `<option>: <reason>`, naming what was received,
 * e.g. `minPort: must be ≤ maxPort, got 50000 > 40000`.
 */
export const InvalidOptionError = createError('ERR_TURN_INVALID_OPTION', '%s: %s');
/** An instance of {@link InvalidOptionError}. */
export type InvalidOptionError = InstanceType<typeof InvalidOptionError>;

/**
 * InvalidArgumentError is thrown when a function is called with an argument it cannot accept,
 * a programmer error (e.g. formatting 5 bytes as an IP address). Message: `<function>: <reason>`.
 */
export const InvalidArgumentError = createError('ERR_TURN_INVALID_ARGUMENT', '%s: %s');
/** An instance of {@link InvalidArgumentError}. */
export type InvalidArgumentError = InstanceType<typeof InvalidArgumentError>;

/**
 * ProxyProtocolError is thrown by the PROXY protocol parser for a header that is malformed, too
 * long, or of an unsupported version. Message: `proxy protocol: <reason>`, naming what was received.
 */
export const ProxyProtocolError = createError('ERR_TURN_PROXY_PROTOCOL', 'proxy protocol: %s');
/** An instance of {@link ProxyProtocolError}. */
export type ProxyProtocolError = InstanceType<typeof ProxyProtocolError>;

/** One entry of the error catalog (rendered into docs/errors.md). */
export interface TurnErrorCodeEntry {
  readonly code: string;
  readonly description: string;
}

/** Every error code this package throws, with a one-line description. */
export const TURN_ERROR_CODES: readonly TurnErrorCodeEntry[] = [
  {
    code: InvalidOptionError.code,
    description:
      'An option is missing, out of range or inconsistent with another; thrown at construction. The message names the option and what was received.',
  },
  {
    code: InvalidArgumentError.code,
    description:
      'A function was called with an argument it cannot accept (a programmer error). The message names the function and the value.',
  },
  {
    code: ProxyProtocolError.code,
    description:
      'A PROXY protocol (v1 or v2) header from a configured load balancer is malformed, too long or unsupported; the connection is closed.',
  },
];
