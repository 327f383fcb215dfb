/**
 * Schema migrations, in code, applied at open by Kysely's `Migrator` with a static provider.
 * Every migration uses only types and statements both SQLite and PostgreSQL accept; never edit
 * a released migration, add a new one.
 * @module
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';

/** 0001: every table of the first release. */
const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('apps')
      .addColumn('app_id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('modes', 'text', (c) => c.notNull())
      .addColumn('regions', 'text', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('app_secrets')
      .addColumn('secret_id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.app_id'))
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('app_secrets_app')
      .on('app_secrets')
      .columns(['app_id', 'created_at_ms'])
      .execute();
    await db.schema
      .createTable('api_keys')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.app_id'))
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('key_sha256', 'text', (c) => c.notNull().unique())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at_ms', 'bigint')
      .execute();
    await db.schema
      .createTable('reservations')
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.app_id'))
      .addColumn('region', 'text', (c) => c.notNull())
      .addColumn('max_channels', 'integer', (c) => c.notNull())
      .addColumn('max_users_per_channel', 'integer', (c) => c.notNull())
      .addColumn('max_proxy_users_per_channel', 'integer', (c) => c.notNull())
      .addColumn('video_quality', 'text', (c) => c.notNull())
      .addColumn('mode', 'text', (c) => c.notNull())
      .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('reservations_pk', ['app_id', 'region'])
      .execute();
    await db.schema
      .createTable('revocations')
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.app_id'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('uid', 'text', (c) => c.notNull())
      .addColumn('until_ms', 'bigint', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('revocations_pk', ['app_id', 'channel', 'uid'])
      .execute();
    let usage = db.schema
      .createTable('usage_daily')
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.app_id'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull());
    for (const column of USAGE_COUNTERS)
      usage = usage.addColumn(column, 'bigint', (c) => c.notNull().defaultTo(0));
    await usage
      .addColumn('peak_proxy_users', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('usage_daily_pk', ['app_id', 'day', 'channel'])
      .execute();
    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },
};

/** The additive counters of `usage_daily` (all `bigint`). */
export const USAGE_COUNTERS = [
  'allocations',
  'relay_ms',
  'bytes_in_udp',
  'bytes_out_udp',
  'bytes_in_tcp',
  'bytes_out_tcp',
  'bytes_in_tls',
  'bytes_out_tls',
] as const;

/** Every migration by name; names sort in the order they apply. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
};

/** The static provider handed to Kysely's `Migrator`. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};
