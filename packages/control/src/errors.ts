/**
 * The error catalog of @cloudproxy/control: `ApiProblem` for every HTTP refusal (rendered as
 * RFC 9457 problem+json with a stable `code`) and `ControlError` for configuration and storage
 * errors thrown to the caller.
 * @module
 */

/** The stable problem codes of the API and their HTTP status (docs/api.md). */
export const PROBLEM_STATUS = {
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'invalid-request': 400,
  conflict: 409,
  'app-disabled': 403,
  'mode-not-enabled': 403,
  'quota-exceeded': 403,
  revoked: 403,
  'rate-limited': 429,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  internal: 500,
  unavailable: 503,
} as const;

/** A problem code. */
export type ProblemCode = keyof typeof PROBLEM_STATUS;

/** Titles of the problem codes (the `title` member). */
const TITLES: Readonly<Record<ProblemCode, string>> = {
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  'invalid-request': 'Invalid request',
  conflict: 'Conflict',
  'app-disabled': 'App disabled',
  'mode-not-enabled': 'Mode not enabled',
  'quota-exceeded': 'Quota exceeded',
  revoked: 'Revoked',
  'rate-limited': 'Too many requests',
  'payload-too-large': 'Payload too large',
  'unsupported-media-type': 'Unsupported media type',
  internal: 'Internal error',
  unavailable: 'Service unavailable',
};

/** The base of every problem `type` URI. */
export const PROBLEM_TYPE_BASE = 'https://cloudproxy.dev/problems/';

/** The problem+json body of a refusal (RFC 9457). */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
}

/**
 * ApiProblem is a refusal of an API request: thrown by handlers, rendered by the server as
 * `application/problem+json`. `headers` are added to the response (e.g. `Retry-After`).
 */
export class ApiProblem extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ProblemCode,
    detail: string,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiProblem';
    this.code = code;
    this.status = PROBLEM_STATUS[code];
    this.headers = options.headers ?? {};
  }

  /** The problem+json body. */
  toBody(): ProblemBody {
    return {
      type: `${PROBLEM_TYPE_BASE}${this.code}`,
      title: TITLES[this.code],
      status: this.status,
      detail: this.message,
      code: this.code,
    };
  }
}

/** The stable codes of errors thrown by this package (not HTTP refusals). */
export const CONTROL_ERROR_CODES = {
  ERR_CONTROL_INVALID_OPTION:
    'A control-plane option is missing or invalid; thrown by createControlPlane. The message names the option and what was received.',
  ERR_CONTROL_STORE:
    'The store could not be opened or migrated (SQLite file or PostgreSQL server). The message names the store and the cause.',
} as const;

/** ControlError is a configuration or storage error with a stable `code`. */
export class ControlError extends Error {
  readonly code: keyof typeof CONTROL_ERROR_CODES;

  constructor(code: keyof typeof CONTROL_ERROR_CODES, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ControlError';
    this.code = code;
  }
}
