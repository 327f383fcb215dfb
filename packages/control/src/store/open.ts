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
import { Kysely, Migrator, PostgresDialect, SqliteDialect, SqliteDriver, sql } from 'kysely';
import type { DatabaseConnection, Driver } from 'kysely';
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

/**
 * SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, …;
 * https://www.sqlite.org/lang_transaction.html "Response To Errors Within A Transaction").
 * Kysely's ROLLBACK after that fails with "no transaction is active" and would hide the real
 * error (a full disk would look like a bug), so the driver skips the ROLLBACK when SQLite has
 * already done it.
 */
class SqliteDriverKeepingErrors extends SqliteDriver {
  readonly #database: Database.Database;

  constructor(database: Database.Database) {
    super({ database });
    this.#database = database;
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#database.inTransaction) return;
    await super.rollbackTransaction(connection);
  }
}

/** SqliteDialect with {@link SqliteDriverKeepingErrors}. */
class SqliteDialectKeepingErrors extends SqliteDialect {
  readonly #database: Database.Database;

  constructor(database: Database.Database) {
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new SqliteDriverKeepingErrors(this.#database);
  }
}

function sqliteDialect(file: string): SqliteDialect {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new SqliteDialectKeepingErrors(database);
}

/** How long a new PostgreSQL connection may take before the query fails (not hangs). */
export const PG_CONNECT_TIMEOUT_MS = 5000;

function postgresDialect(url: string, onError: (error: Error) => void): PostgresDialect {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
  });
  // An idle connection that the server closes (restart, failover, `pg_ctl stop`) makes the pool
  // emit 'error'; without a listener that would end the process. The pool has already dropped
  // the connection and the next query opens a new one, so the error is only reported.
  pool.on('error', onError);
  return new PostgresDialect({ pool });
}

function describeStore(options: StoreOptions): string {
  if (options.kind === 'sqlite') return `sqlite ${options.file}`;
  const safe = new URL(options.url);
  safe.password = '';
  return `postgres ${safe.toString()}`;
}

/**
 * Opens the store and migrates it to the latest schema; throws ERR_CONTROL_STORE on failure.
 * `onConnectionError` receives errors of idle PostgreSQL connections (default: ignored, the
 * next query reconnects and reports its own failure).
 */
export async function openStore(
  options: StoreOptions,
  onConnectionError: (error: Error) => void = () => undefined,
): Promise<Store> {
  let db: Kysely<ControlDatabase>;
  try {
    db = new Kysely<ControlDatabase>({
      dialect:
        options.kind === 'sqlite'
          ? sqliteDialect(options.file)
          : postgresDialect(options.url, onConnectionError),
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
