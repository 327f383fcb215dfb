/**
 * Checks shared by the option resolvers: integers, ports, addresses and the sizes RFC 8489 sets.
 * @module
 */
import { InvalidOptionError } from './errors.js';
import { formatIp, parseIp } from './peer-policy/ip-address.js';

/** REALM: fewer than 128 characters, at most 763 bytes. RFC 8489 §14.9. */
const MAX_REALM_CHARS = 127;
const MAX_REALM_BYTES = 763;
/** USERNAME: less than 513 bytes. RFC 8489 §14.3. */
const MAX_USERNAME_BYTES = 512;
/** SOFTWARE: fewer than 128 characters. RFC 8489 §14.14. */
const MAX_SOFTWARE_CHARS = 127;
const MAX_PORT = 65_535;

/** Checks one static user: a non-empty name without ':', within the USERNAME size, and a password. */
export function checkUser(name: string, password: string): void {
  const key = `auth.users['${name}']`;
  if (name.length === 0) {
    throw new InvalidOptionError('auth.users', 'user name is empty');
  }
  if (name.includes(':')) {
    throw new InvalidOptionError(
      key,
      "user name contains ':' (reserved by the TURN REST username format)",
    );
  }
  if (utf8Length(name) > MAX_USERNAME_BYTES) {
    throw new InvalidOptionError(
      key,
      `user name is ${utf8Length(name)} bytes, at most ${MAX_USERNAME_BYTES}`,
    );
  }
  if (password.length === 0) {
    throw new InvalidOptionError(key, 'password is empty');
  }
}

/** Checks REALM: non-empty, at most 127 characters and 763 bytes. RFC 8489 §14.9. */
export function checkRealm(realm: string): void {
  if (realm.length === 0) {
    throw new InvalidOptionError('realm', 'must not be empty');
  }
  const bytes = utf8Length(realm);
  if (bytes > MAX_REALM_BYTES) {
    throw new InvalidOptionError(
      'realm',
      `is ${bytes} bytes, at most ${MAX_REALM_BYTES} (RFC 8489 §14.9)`,
    );
  }
  const chars = codePointLength(realm);
  if (chars > MAX_REALM_CHARS) {
    throw new InvalidOptionError(
      'realm',
      `is ${chars} characters, at most ${MAX_REALM_CHARS} (RFC 8489 §14.9)`,
    );
  }
}

/** Checks SOFTWARE: false, or 1-127 characters. RFC 8489 §14.14. */
export function checkSoftware(software: string | false): void {
  if (software === false) {
    return;
  }
  if (software.length === 0) {
    throw new InvalidOptionError(
      'software',
      'must not be empty; use false to send no SOFTWARE attribute',
    );
  }
  const chars = codePointLength(software);
  if (chars > MAX_SOFTWARE_CHARS) {
    throw new InvalidOptionError(
      'software',
      `is ${chars} characters, at most ${MAX_SOFTWARE_CHARS} (RFC 8489 §14.14)`,
    );
  }
}

/** Parses an IP address and returns its canonical text; throws naming `key` when invalid. */
export function canonicalIp(key: string, text: string): string {
  const bytes = parseIp(text);
  if (bytes === undefined) {
    throw new InvalidOptionError(key, `'${text}' is not an ip address`);
  }
  return formatIp(bytes);
}

/** Throws naming `key` when the list is empty. */
export function nonEmpty(key: string, list: readonly unknown[]): void {
  if (list.length === 0) {
    throw new InvalidOptionError(key, 'must not be empty');
  }
}

/** Returns `value ?? fallback`, which must be a positive safe integer. */
export function positiveInt(key: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) {
    throw new InvalidOptionError(key, `must be a positive integer, got ${resolved}`);
  }
  return resolved;
}

/** Returns `value ?? fallback`, which must be a non-negative safe integer. */
export function nonNegativeInt(key: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 0) {
    throw new InvalidOptionError(key, `must be a non-negative integer, got ${resolved}`);
  }
  return resolved;
}

/** Returns `value ?? fallback`, which must be a port number `min`-65535. */
export function port(
  key: string,
  value: number | undefined,
  fallback: number,
  min: number,
): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < min || resolved > MAX_PORT) {
    throw new InvalidOptionError(key, `must be an integer ${min}-${MAX_PORT}, got ${resolved}`);
  }
  return resolved;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Characters as RFC 8489 counts them: Unicode code points, a surrogate pair counting once. */
function codePointLength(text: string): number {
  return text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '_').length;
}
