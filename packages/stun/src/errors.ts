/**
 * Error classes and the error-code catalog of the STUN codec.
 * @module
 */

/** Options accepted by the codec error constructors (ES2022 `cause`). */
export interface StunErrorOptions {
  readonly cause?: unknown;
}

/**
 * StunDecodeError is thrown for malformed input: a STUN message, an attribute value,
 * ChannelData or a TCP/TLS byte stream. It is the only error decoding ever throws.
 *
 * `place` names where the fault is (`header`, `attribute/LIFETIME`, `channel-data`, `stream`)
 * and `reason` says what was received, e.g. `attribute/LIFETIME: length 3, expected 4`.
 * Match on `code` across package boundaries, not on `instanceof`. RFC 8489 §6.3.
 */
export class StunDecodeError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_STUN_DECODE';
  /** Where in the input the fault is, e.g. `attribute/LIFETIME`. */
  readonly place: string;
  /** What was wrong, naming the value received. */
  readonly reason: string;

  constructor(place: string, reason: string, options?: StunErrorOptions) {
    super(`${place}: ${reason}`, options);
    this.name = 'StunDecodeError';
    this.place = place;
    this.reason = reason;
  }
}

/**
 * StunEncodeError is thrown when a value cannot be encoded: out of range, too long,
 * invalid address text, or an integrity key given without a `StunCrypto`.
 * It signals a programmer error in the caller, not bad network input.
 */
export class StunEncodeError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_STUN_ENCODE';
  /** What was being encoded, e.g. `attribute/USERNAME` or `message`. */
  readonly place: string;
  /** What was wrong, naming the value given. */
  readonly reason: string;

  constructor(place: string, reason: string, options?: StunErrorOptions) {
    super(`${place}: ${reason}`, options);
    this.name = 'StunEncodeError';
    this.place = place;
    this.reason = reason;
  }
}

/**
 * StunOptionError is thrown at construction for an invalid option, e.g. a `maxFrameBytes`
 * that is not a positive integer. It signals a configuration error.
 */
export class StunOptionError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_STUN_INVALID_OPTION';

  constructor(message: string, options?: StunErrorOptions) {
    super(message, options);
    this.name = 'StunOptionError';
  }
}

/** One entry of the error catalog (rendered into docs/errors.md). */
export interface StunErrorCodeEntry {
  readonly code: string;
  readonly description: string;
}

/** Every error code this package throws, with a one-line description. */
export const STUN_ERROR_CODES: readonly StunErrorCodeEntry[] = [
  {
    code: 'ERR_STUN_DECODE',
    description:
      'Malformed input: a STUN message, attribute value, ChannelData message or TCP/TLS stream frame. `place` names the location (header, attribute/<NAME>, channel-data, stream) and `reason` what was received.',
  },
  {
    code: 'ERR_STUN_ENCODE',
    description:
      'A value cannot be encoded: out of range, too long, invalid IP address text, or an integrity key given without a StunCrypto implementation.',
  },
  {
    code: 'ERR_STUN_INVALID_OPTION',
    description: 'An option passed to a constructor is invalid, e.g. StreamFramer maxFrameBytes.',
  },
];
