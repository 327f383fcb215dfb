/**
 * The zod schemas of every request body, query and answer of the API: requests are validated
 * with them and the OpenAPI document is generated from them, so the two never disagree.
 * @module
 */
import { z } from 'zod';
import { MODES, VIDEO_QUALITY_KBPS } from './model.js';
import type { Mode, VideoQuality } from './model.js';

/** Numeric aliases of the modes: 3/5 as the web SDKs number them, 0/1/2 as native SDKs do. */
export const MODE_ALIASES: Readonly<Record<string, Mode>> = {
  '0': 'auto',
  '1': 'force-udp',
  '2': 'force-tcp',
  '3': 'force-udp',
  '5': 'force-tcp',
};

/** A mode by name or numeric alias. */
export const modeInput = z
  .union([z.enum(MODES), z.literal([0, 1, 2, 3, 5]), z.enum(['0', '1', '2', '3', '5'])], {
    error: 'expected auto, force-udp, force-tcp or an alias 0, 1, 2, 3, 5',
  })
  .transform((v): Mode => MODE_ALIASES[String(v)] ?? (v as Mode));

const modeName = z.enum(MODES);
const videoQuality = z.enum(Object.keys(VIDEO_QUALITY_KBPS) as [VideoQuality, ...VideoQuality[]]);
const region = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected 1-63 of a-z 0-9 -');
/** Printable text: no C0 control characters and no DEL. */
function isPrintable(text: string): boolean {
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/** A channel name: 1-64 printable characters. */
export const channel = z.string().min(1).max(64).refine(isPrintable, 'expected printable text');
/** A uid: 1-255 printable characters (a non-negative integer is accepted and stringified). */
export const uid = z
  .union([
    z.string().min(1).max(255).refine(isPrintable, 'expected printable text'),
    z.number().int().min(0),
  ])
  .transform(String);

const appName = z.string().min(1).max(128).refine(isPrintable, 'expected printable text');
const modes = z
  .array(modeName)
  .min(1)
  .refine((m) => new Set(m).size === m.length, 'modes must not repeat');
const regions = z.array(region).max(64);

/** `POST /apps`. */
export const createAppBody = z.strictObject({
  name: appName,
  modes: modes.optional(),
  regions: regions.optional(),
  enabled: z.boolean().optional(),
});
/** `PATCH /apps/{appId}`. */
export const patchAppBody = z.strictObject({
  name: appName.optional(),
  modes: modes.optional(),
  regions: regions.optional(),
  enabled: z.boolean().optional(),
});
/** `POST /apps/{appId}/keys`. */
export const createKeyBody = z.strictObject({ label: z.string().max(128).optional() });
/** `PUT /apps/{appId}/reservations/{region}`. */
export const reservationBody = z.strictObject({
  maxChannels: z.number().int().min(1).max(1_000_000),
  maxUsersPerChannel: z.number().int().min(1).max(100_000),
  maxProxyUsersPerChannel: z.number().int().min(1).max(100_000),
  videoQuality,
  mode: modeInput,
});
/** `POST /apps/{appId}/credentials`. */
export const credentialsBody = z.strictObject({
  channel,
  uid,
  ttl: z.number().int().min(1).optional(),
  mode: modeInput.optional(),
  /** Cluster mode: the region whose relays the credentials name (default: this node's). */
  region: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
    .optional(),
});
/** `GET /apps/{appId}/turn-credentials`. */
export const turnCredentialsQuery = z.object({
  channel,
  uid: z.string().min(1).max(255).refine(isPrintable, 'expected printable text'),
  ttl: z.coerce.number().int().min(1).optional(),
  mode: modeInput.optional(),
  region: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
    .optional(),
});
/** `POST /apps/{appId}/client-tokens`. */
export const clientTokenBody = z.strictObject({
  channel,
  uid,
  ttl: z.number().int().min(1).optional(),
});
/** `POST /apps/{appId}/revocations`. */
export const revocationBody = z.strictObject({
  channel,
  uid: uid.optional(),
  durationS: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .optional(),
});
/** `DELETE /apps/{appId}/revocations`. */
export const revocationQuery = z.object({
  channel,
  uid: z.string().min(1).max(255).optional(),
});
/** `GET /allowlist`. */
export const allowlistQuery = z.object({
  region: region.optional(),
  format: z.enum(['json', 'csv', 'text']).optional(),
});
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
/** `GET /apps/{appId}/usage`. */
export const usageQuery = z.object({
  from: day.optional(),
  to: day.optional(),
  channel: channel.optional(),
  format: z.enum(['json', 'csv']).optional(),
});
const appIdText = z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 lowercase hex characters');
/** `GET /allocations`. */
export const allocationsQuery = z.object({
  appId: appIdText.optional(),
  channel: channel.optional(),
});
/** `GET /stats/bandwidth`. */
export const bandwidthQuery = z.object({
  appId: appIdText.optional(),
  minutes: z.coerce.number().int().min(1).max(60).optional(),
});

// Answers (documentation only).
const iso = z.string().describe('ISO-8601 time');
/** `App`. */
export const appSchema = z.object({
  appId: appIdText,
  name: z.string(),
  enabled: z.boolean(),
  modes: z.array(modeName),
  regions: z.array(z.string()),
  createdAt: iso,
  updatedAt: iso,
});
/** `Reservation`. */
export const reservationSchema = z.object({
  appId: appIdText,
  region: z.string(),
  maxChannels: z.number().int(),
  maxUsersPerChannel: z.number().int(),
  maxProxyUsersPerChannel: z.number().int(),
  videoQuality,
  mode: modeName,
  maxBpsPerAllocation: z.number().int().describe('bytes per second'),
  updatedAt: iso,
});
/** The WebRTC-shaped credentials answer. */
export const credentialsSchema = z.object({
  iceServers: z.array(
    z.object({ urls: z.array(z.string()), username: z.string(), credential: z.string() }),
  ),
  iceTransportPolicy: z.enum(['all', 'relay']),
  mode: modeName,
  ttl: z.number().int(),
  expiresAt: iso,
});
const bytesByTransport = z.object({ udp: z.number(), tcp: z.number(), tls: z.number() });
/** One usage row. */
export const usageRowSchema = z.object({
  appId: appIdText,
  channel: z.string(),
  day: z.string(),
  allocations: z.number().int(),
  relayMinutes: z.number(),
  bytesIn: bytesByTransport,
  bytesOut: bytesByTransport,
  peakProxyUsers: z.number().int(),
});
/** The problem+json body of every refusal. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
});
