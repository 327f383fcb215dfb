/**
 * The control plane's database schema as Kysely table types: one schema for SQLite and
 * PostgreSQL. Times are Unix milliseconds in `int8`/`bigint` columns, booleans are integers 0/1
 * and lists are JSON text, so that every statement is portable between both dialects.
 * @module
 */
import type { ColumnType } from 'kysely';

/**
 * A 64-bit integer column: written as a number, read as a number (SQLite) or a decimal string
 * (PostgreSQL returns `int8` as text); read it through `toNumber`.
 */
export type Int8 = ColumnType<number | string, number, number>;

/** `apps`: one row per app; disabled apps are kept for their usage history. */
export interface AppsTable {
  app_id: string;
  name: string;
  enabled: number;
  /** JSON array of modes. */
  modes: string;
  /** JSON array of region names. */
  regions: string;
  created_at_ms: Int8;
  updated_at_ms: Int8;
}

/** `app_secrets`: the TURN REST secrets of an app; several are active at once (rotation). */
export interface AppSecretsTable {
  secret_id: string;
  app_id: string;
  secret: string;
  created_at_ms: Int8;
}

/** `api_keys`: per-app API keys, stored as the SHA-256 of the key (the key is shown once). */
export interface ApiKeysTable {
  key_id: string;
  app_id: string;
  label: string;
  key_sha256: string;
  created_at_ms: Int8;
  last_used_at_ms: Int8 | null;
}

/** `reservations`: capacity reserved by an app in a region. */
export interface ReservationsTable {
  app_id: string;
  region: string;
  max_channels: number;
  max_users_per_channel: number;
  max_proxy_users_per_channel: number;
  video_quality: string;
  mode: string;
  updated_at_ms: Int8;
}

/** `revocations`: bans of a channel (`uid` = '') or of one uid in it, until `until_ms`. */
export interface RevocationsTable {
  app_id: string;
  channel: string;
  uid: string;
  until_ms: Int8;
  created_at_ms: Int8;
}

/** `usage_daily`: usage per app, channel and UTC day; rows are added to (upsert-add). */
export interface UsageDailyTable {
  app_id: string;
  channel: string;
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  allocations: Int8;
  relay_ms: Int8;
  bytes_in_udp: Int8;
  bytes_out_udp: Int8;
  bytes_in_tcp: Int8;
  bytes_out_tcp: Int8;
  bytes_in_tls: Int8;
  bytes_out_tls: Int8;
  peak_proxy_users: number;
}

/** `settings`: server-wide values generated once (client-token key, admin token hash). */
export interface SettingsTable {
  key: string;
  value: string;
}

/** Kysely's view of the whole database. */
export interface ControlDatabase {
  apps: AppsTable;
  app_secrets: AppSecretsTable;
  api_keys: ApiKeysTable;
  reservations: ReservationsTable;
  revocations: RevocationsTable;
  usage_daily: UsageDailyTable;
  settings: SettingsTable;
}

/** Reads an `Int8` column value (number or decimal string) as a number. */
export function toNumber(value: number | string | bigint): number {
  return typeof value === 'number' ? value : Number(value);
}
