/**
 * The API's JSON representations of the domain values, and CSV rendering.
 * @module
 */
import { maxBpsOf } from '../model.js';
import type { App, Reservation, Revocation, UsageRow } from '../model.js';
import type { ApiKeyInfo } from '../store/keys-repo.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `App`. */
export function appJson(app: App): Record<string, unknown> {
  return {
    appId: app.appId,
    name: app.name,
    enabled: app.enabled,
    modes: app.modes,
    regions: app.regions,
    createdAt: iso(app.createdAtMs),
    updatedAt: iso(app.updatedAtMs),
  };
}

/** An API key as listed. */
export function keyJson(key: ApiKeyInfo): Record<string, unknown> {
  return {
    keyId: key.keyId,
    label: key.label,
    createdAt: iso(key.createdAtMs),
    lastUsedAt: key.lastUsedAtMs === undefined ? null : iso(key.lastUsedAtMs),
  };
}

/** `Reservation`. */
export function reservationJson(r: Reservation): Record<string, unknown> {
  return {
    appId: r.appId,
    region: r.region,
    maxChannels: r.maxChannels,
    maxUsersPerChannel: r.maxUsersPerChannel,
    maxProxyUsersPerChannel: r.maxProxyUsersPerChannel,
    videoQuality: r.videoQuality,
    mode: r.mode,
    maxBpsPerAllocation: maxBpsOf(r.videoQuality),
    updatedAt: iso(r.updatedAtMs),
  };
}

/** A revocation. */
export function revocationJson(r: Revocation): Record<string, unknown> {
  return {
    channel: r.channel,
    uid: r.uid ?? null,
    until: iso(r.untilMs),
    createdAt: iso(r.createdAtMs),
  };
}

/** Relay minutes with millisecond precision. */
function minutes(ms: number): number {
  return Math.round(ms / 60) / 1000;
}

/** A usage row. */
export function usageJson(r: UsageRow): Record<string, unknown> {
  return {
    appId: r.appId,
    channel: r.channel,
    day: r.day,
    allocations: r.allocations,
    relayMinutes: minutes(r.relayMs),
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
    peakProxyUsers: r.peakProxyUsers,
  };
}

/** Quotes a CSV field when it needs it (RFC 4180), and defuses spreadsheet formulas. */
export function csvField(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Renders rows as CSV with a header line (CRLF line ends, RFC 4180). */
export function toCsv(header: readonly string[], rows: readonly (string | number)[][]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** The CSV header of usage rows. */
export const USAGE_CSV_HEADER = [
  'app_id',
  'channel',
  'day',
  'allocations',
  'relay_minutes',
  'bytes_in_udp',
  'bytes_out_udp',
  'bytes_in_tcp',
  'bytes_out_tcp',
  'bytes_in_tls',
  'bytes_out_tls',
  'peak_proxy_users',
] as const;

/** A usage row as CSV cells. */
export function usageCsvRow(r: UsageRow): (string | number)[] {
  return [
    r.appId,
    r.channel,
    r.day,
    r.allocations,
    minutes(r.relayMs),
    r.bytesIn.udp,
    r.bytesOut.udp,
    r.bytesIn.tcp,
    r.bytesOut.tcp,
    r.bytesIn.tls,
    r.bytesOut.tls,
    r.peakProxyUsers,
  ];
}
