/**
 * The ephemeral TURN credential contract (the TURN REST scheme coturn implements,
 * draft-uberti-behave-turn-rest-00 §2.2): `username = "<expiry-unix-seconds>:<appId>:<channel>:<uid>"`
 * with each part percent-encoded, `password = base64(HMAC-SHA1(secret, username))`.
 * @module
 */
import { createHmac } from 'node:crypto';

/** The parts of an app-form username. */
export interface AppUsername {
  readonly expiresAtS: number;
  readonly appId: string;
  readonly channel: string;
  readonly uid: string;
}

/** The TURN REST password of a username: base64(HMAC-SHA1(secret, username)). */
export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * Percent-encodes a part so that it can never contain `:` (RFC 3986 unreserved characters stay;
 * everything else, `:` included, becomes `%XX` of its UTF-8 bytes).
 */
function encodePart(part: string): string {
  return encodeURIComponent(part).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Builds the username of an app's credentials. */
export function appUsername(parts: AppUsername): string {
  return [String(parts.expiresAtS), parts.appId, parts.channel, parts.uid]
    .map(encodePart)
    .join(':');
}

const APP_ID = /^[0-9a-f]{32}$/;

function decodePart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/**
 * Parses an app-form username, or returns undefined when `username` is not one (then the relay's
 * own secrets apply to it).
 */
export function parseAppUsername(username: string): AppUsername | undefined {
  const parts = username.split(':');
  if (parts.length !== 4) return undefined;
  const [expiry, appId, channel, uid] = parts as [string, string, string, string];
  if (!/^\d{1,12}$/.test(expiry) || !APP_ID.test(appId)) return undefined;
  const decodedChannel = decodePart(channel);
  const decodedUid = decodePart(uid);
  if (decodedChannel === undefined || decodedUid === undefined) return undefined;
  if (decodedChannel === '' || decodedUid === '') return undefined;
  return { expiresAtS: Number(expiry), appId, channel: decodedChannel, uid: decodedUid };
}

/** The app id of an app-form username without decoding the rest (hot path), or undefined. */
export function appIdOfUsername(username: string): string | undefined {
  const first = username.indexOf(':');
  if (first < 0) return undefined;
  const second = username.indexOf(':', first + 1);
  if (second < 0) return undefined;
  const appId = username.slice(first + 1, second);
  return APP_ID.test(appId) && /^\d{1,12}$/.test(username.slice(0, first)) ? appId : undefined;
}
