/**
 * Opens the store: SQLite (better-sqlite3, the default, a file under `./data`) or PostgreSQL
 * (pg), with Kysely over either, and applies the migrations before anything else runs.
 *
 * SQLite runs in WAL mode with `synchronous=FULL`: every commit is fsynced before it returns, so
 * an API key shown once or a revocation acknowledged to the caller survives a power loss, and a
 * crash mid-write leaves the last committed state (WAL with NORMAL would stay consistent too but
 * may lose the most recent commits). Writes are rare (admin calls and one usage flush per
 * interval), so the extra fsync costs nothing that matters.
 * @module
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { ControlError } from '../errors.js';
import { migrationProvider } from './migrations.js';
import type { ControlDatabase } from './schema.js';

/** Where the data lives. */
export type StoreOptions = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** An open store. `close()` is idempotent. */
export interface Store {
  readonly kind: StoreOptions['kind'];
  readonly db: Kysely<ControlDatabase>;
  /** Resolves when the database answers a trivial query (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

function sqliteDialect(file: string): SqliteDialect {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new SqliteDialect({ database });
}

function postgresDialect(url: string): PostgresDialect {
  return new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 10 }) });
}

function describeStore(options: StoreOptions): string {
  if (options.kind === 'sqlite') return `sqlite ${options.file}`;
  const safe = new URL(options.url);
  safe.password = '';
  return `postgres ${safe.toString()}`;
}

/** Opens the store and migrates it to the latest schema; throws ERR_CONTROL_STORE on failure. */
export async function openStore(options: StoreOptions): Promise<Store> {
  let db: Kysely<ControlDatabase>;
  try {
    db = new Kysely<ControlDatabase>({
      dialect:
        options.kind === 'sqlite' ? sqliteDialect(options.file) : postgresDialect(options.url),
    });
  } catch (error) {
    throw new ControlError('ERR_CONTROL_STORE', `cannot open ${describeStore(options)}`, error);
  }
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    throw new ControlError(
      'ERR_CONTROL_STORE',
      `cannot migrate ${describeStore(options)}: ${reason}`,
      error,
    );
  }
  let closed: Promise<void> | undefined;
  return {
    kind: options.kind,
    db,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => (closed ??= db.destroy()),
  };
}
