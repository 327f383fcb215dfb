/**
 * Apps and their TURN secrets in the store.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { App, AppSecret, Mode } from '../model.js';
import { toNumber } from './schema.js';
import type { AppsTable, ControlDatabase } from './schema.js';

/** Fields of a new app. */
export interface NewApp {
  readonly name: string;
  readonly modes: readonly Mode[];
  readonly regions: readonly string[];
  readonly enabled: boolean;
}

/** Changes to an app; absent fields stay. */
export interface AppPatch {
  readonly name?: string | undefined;
  readonly modes?: readonly Mode[] | undefined;
  readonly regions?: readonly string[] | undefined;
  readonly enabled?: boolean | undefined;
}

function toApp(row: Selectable<AppsTable>): App {
  return {
    appId: row.app_id,
    name: row.name,
    enabled: row.enabled !== 0,
    modes: JSON.parse(row.modes) as Mode[],
    regions: JSON.parse(row.regions) as string[],
    createdAtMs: toNumber(row.created_at_ms),
    updatedAtMs: toNumber(row.updated_at_ms),
  };
}

/** A new random TURN REST secret (256 bits, base64url). */
export function newSecretValue(): string {
  return randomBytes(32).toString('base64url');
}

/** AppsRepo reads and writes `apps` and `app_secrets`. */
export class AppsRepo {
  readonly #db: Kysely<ControlDatabase>;

  constructor(db: Kysely<ControlDatabase>) {
    this.#db = db;
  }

  /** Inserts an app and its first secret in one transaction. */
  async create(app: NewApp, nowMs: number): Promise<{ app: App; secret: AppSecret }> {
    const appId = randomBytes(16).toString('hex');
    const secret: AppSecret = {
      secretId: `sec_${randomBytes(8).toString('hex')}`,
      appId,
      secret: newSecretValue(),
      createdAtMs: nowMs,
    };
    await this.#db.transaction().execute(async (tx) => {
      await tx
        .insertInto('apps')
        .values({
          app_id: appId,
          name: app.name,
          enabled: app.enabled ? 1 : 0,
          modes: JSON.stringify(app.modes),
          regions: JSON.stringify(app.regions),
          created_at_ms: nowMs,
          updated_at_ms: nowMs,
        })
        .execute();
      await tx
        .insertInto('app_secrets')
        .values({
          secret_id: secret.secretId,
          app_id: appId,
          secret: secret.secret,
          created_at_ms: nowMs,
        })
        .execute();
    });
    const created: App = { appId, ...app, createdAtMs: nowMs, updatedAtMs: nowMs };
    return { app: created, secret };
  }

  /** Every app, oldest first. */
  async list(): Promise<App[]> {
    const rows = await this.#db.selectFrom('apps').selectAll().orderBy('created_at_ms').execute();
    return rows.map(toApp);
  }

  /** One app, or undefined. */
  async get(appId: string): Promise<App | undefined> {
    const row = await this.#db
      .selectFrom('apps')
      .selectAll()
      .where('app_id', '=', appId)
      .executeTakeFirst();
    return row && toApp(row);
  }

  /** The app with this name, or undefined. */
  async findByName(name: string): Promise<App | undefined> {
    const row = await this.#db
      .selectFrom('apps')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toApp(row);
  }

  /** Applies a patch; returns the updated app, or undefined when there is none. */
  async update(appId: string, patch: AppPatch, nowMs: number): Promise<App | undefined> {
    await this.#db
      .updateTable('apps')
      .set({
        updated_at_ms: nowMs,
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled ? 1 : 0 }),
        ...(patch.modes !== undefined && { modes: JSON.stringify(patch.modes) }),
        ...(patch.regions !== undefined && { regions: JSON.stringify(patch.regions) }),
      })
      .where('app_id', '=', appId)
      .execute();
    return this.get(appId);
  }

  /**
   * Adds a secret; it becomes the newest (its time is after every existing secret's, even
   * within one millisecond, so "newest" is never ambiguous).
   */
  async addSecret(appId: string, nowMs: number): Promise<AppSecret> {
    const newest = (await this.listSecrets(appId))[0]?.createdAtMs ?? 0;
    const createdAtMs = Math.max(nowMs, newest + 1);
    const secret: AppSecret = {
      secretId: `sec_${randomBytes(8).toString('hex')}`,
      appId,
      secret: newSecretValue(),
      createdAtMs,
    };
    await this.#db
      .insertInto('app_secrets')
      .values({
        secret_id: secret.secretId,
        app_id: appId,
        secret: secret.secret,
        created_at_ms: createdAtMs,
      })
      .execute();
    return secret;
  }

  /** Secrets of one app (or of every app), newest first. */
  async listSecrets(appId?: string): Promise<AppSecret[]> {
    let query = this.#db.selectFrom('app_secrets').selectAll();
    if (appId !== undefined) query = query.where('app_id', '=', appId);
    const rows = await query
      .orderBy('created_at_ms', 'desc')
      .orderBy('secret_id', 'desc')
      .execute();
    return rows.map((r) => ({
      secretId: r.secret_id,
      appId: r.app_id,
      secret: r.secret,
      createdAtMs: toNumber(r.created_at_ms),
    }));
  }

  /** Deletes a secret of an app; returns whether one was deleted. */
  async deleteSecret(appId: string, secretId: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('app_secrets')
      .where('app_id', '=', appId)
      .where('secret_id', '=', secretId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
