/**
 * Parsers for the values of `cloudproxy turn` options: booleans, integers, addresses, ranges, users.
 * @module
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { TurnConfigError } from './turn-config-error.js';

/** coturn's boolean spellings (mainrelay.c `get_bool_value`), compared case-insensitively. */
const TRUE_WORDS = new Set(['1', 'yes', 'y', 'true', 't', 'on']);
const FALSE_WORDS = new Set(['0', 'no', 'n', 'false', 'f', 'off']);
const PREFIX_DIGITS = /^(?:0|[1-9][0-9]{0,2})$/;
/** A precomputed long-term key as coturn accepts it in `--user name:0x<hex>`. */
const HEX_KEY = /^0x[0-9a-fA-F]+$/;

/**
 * Parses a flag value: absent means true; otherwise one of yes/no, on/off, true/false, 1/0, y/n, t/f.
 * @param at where the value comes from, prefixed to errors (`cloudproxy turn: --no-udp`).
 */
export function parseBoolValue(at: string, text: string | undefined): boolean {
  if (text === undefined) {
    return true;
  }
  const word = text.toLowerCase();
  if (TRUE_WORDS.has(word)) {
    return true;
  }
  if (FALSE_WORDS.has(word)) {
    return false;
  }
  throw new TurnConfigError(
    `${at}: expected a boolean (yes/no, on/off, true/false, 1/0), got '${text}'`,
  );
}

/** Parses a decimal integer in `min`..`max` (digits only: no sign, no exponent, no hex). */
export function parseIntValue(at: string, text: string, min: number, max: number): number {
  const schema = z
    .string()
    .regex(/^[0-9]+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
  const result = schema.safeParse(text);
  if (!result.success) {
    throw new TurnConfigError(`${at}: expected an integer ${min}-${max}, got '${text}'`);
  }
  return result.data;
}

/** Checks a non-empty string value. */
export function parseStringValue(at: string, text: string): string {
  if (text.length === 0) {
    throw new TurnConfigError(`${at}: expected a value, got ''`);
  }
  return text;
}

/** Checks an IPv4 or IPv6 address (no zone id, no host name) and returns it unchanged. */
export function parseIpValue(at: string, text: string): string {
  if (!isIpText(text)) {
    throw new TurnConfigError(`${at}: expected an ip address, got '${text}'`);
  }
  return text;
}

/**
 * Checks a peer range as coturn writes it: `a.b.c.d`, a CIDR (`10.0.0.0/8`, `fc00::/7`) or an
 * inclusive `first-last` range of one family. The TURN server parses it again authoritatively.
 */
export function parseIpRangeValue(at: string, text: string): string {
  if (!isIpRangeText(text)) {
    throw new TurnConfigError(
      `${at}: expected an ip address, cidr (10.0.0.0/8) or range (10.0.0.0-10.255.255.255), got '${text}'`,
    );
  }
  return text;
}

/** A static long-term user of `--user name:password`. */
export interface UserValue {
  readonly name: string;
  readonly password: string;
}

/**
 * Parses `name:password` (split at the first `:`). coturn's `name:0x<hex key>` form, a
 * precomputed MD5 key, is refused by name: give the plain password instead.
 */
export function parseUserValue(at: string, text: string): UserValue {
  const colon = text.indexOf(':');
  if (colon < 0) {
    throw new TurnConfigError(`${at}: expected name:password, got no ':'`);
  }
  const name = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (name.length === 0) {
    throw new TurnConfigError(`${at}: expected name:password, got an empty name`);
  }
  if (password.length === 0) {
    throw new TurnConfigError(`${at}: expected name:password, got an empty password for '${name}'`);
  }
  if (HEX_KEY.test(password)) {
    throw new TurnConfigError(
      `${at}: the name:0x<hex key> form (coturn's precomputed key) is not supported; give the password for '${name}'`,
    );
  }
  return { name, password };
}

/** An `--external-ip` value: `public` alone, or `public/private` mapping one relay address. */
export interface ExternalIpValue {
  readonly publicIp: string;
  readonly privateIp: string | undefined;
}

/** Parses `--external-ip public` or `--external-ip public/private` (both of one family). */
export function parseExternalIpValue(at: string, text: string): ExternalIpValue {
  const [publicIp = '', privateIp, ...rest] = text.split('/');
  if (rest.length > 0 || !isIpText(publicIp) || (privateIp !== undefined && !isIpText(privateIp))) {
    throw new TurnConfigError(`${at}: expected public-ip or public-ip/private-ip, got '${text}'`);
  }
  if (privateIp !== undefined && isIP(publicIp) !== isIP(privateIp)) {
    throw new TurnConfigError(
      `${at}: public and private address are of different families in '${text}'`,
    );
  }
  return { publicIp, privateIp };
}

/** True for IPv4 or IPv6 address text without a zone id. */
function isIpText(text: string): boolean {
  return isIP(text) !== 0 && !text.includes('%');
}

function isIpRangeText(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const address = text.slice(0, slash);
    const prefix = text.slice(slash + 1);
    const maxBits = isIP(address) === 6 ? 128 : 32;
    return isIpText(address) && PREFIX_DIGITS.test(prefix) && Number(prefix) <= maxBits;
  }
  const parts = text.split('-');
  if (parts.length === 2) {
    const [first = '', last = ''] = parts;
    return isIpText(first) && isIpText(last) && isIP(first) === isIP(last);
  }
  return isIpText(text);
}
