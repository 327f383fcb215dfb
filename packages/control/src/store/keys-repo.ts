/**
 * Per-app API keys (stored as SHA-256 hashes; the key itself is shown once) and the server-wide
 * settings (generated once).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { toNumber } from './schema.js';
import type { ControlDatabase } from './schema.js';

/** The prefix of every app API key, so that a bearer token's kind is visible at a glance. */
export const API_KEY_PREFIX = 'cpk_';

/** An API key as listed (never the key itself). */
export interface ApiKeyInfo {
  readonly keyId: string;
  readonly appId: string;
  readonly label: string;
  readonly createdAtMs: number;
  readonly lastUsedAtMs: number | undefined;
}

/** SHA-256 of a token, hex. Keys are 256-bit random values, so a plain hash is enough. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** KeysRepo reads and writes `api_keys` and `settings`. */
export class KeysRepo {
  readonly #db: Kysely<ControlDatabase>;

  constructor(db: Kysely<ControlDatabase>) {
    this.#db = db;
  }

  /** Creates a key for an app; returns it with the key value (the only time it exists). */
  async create(
    appId: string,
    label: string,
    nowMs: number,
  ): Promise<ApiKeyInfo & { readonly key: string }> {
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const keyId = `key_${randomBytes(8).toString('hex')}`;
    await this.#db
      .insertInto('api_keys')
      .values({
        key_id: keyId,
        app_id: appId,
        label,
        key_sha256: sha256Hex(key),
        created_at_ms: nowMs,
        last_used_at_ms: null,
      })
      .execute();
    return { keyId, appId, label, createdAtMs: nowMs, lastUsedAtMs: undefined, key };
  }

  /** Keys of an app, oldest first. */
  async list(appId: string): Promise<ApiKeyInfo[]> {
    const rows = await this.#db
      .selectFrom('api_keys')
      .select(['key_id', 'app_id', 'label', 'created_at_ms', 'last_used_at_ms'])
      .where('app_id', '=', appId)
      .orderBy('created_at_ms')
      .execute();
    return rows.map((r) => ({
      keyId: r.key_id,
      appId: r.app_id,
      label: r.label,
      createdAtMs: toNumber(r.created_at_ms),
      lastUsedAtMs: r.last_used_at_ms === null ? undefined : toNumber(r.last_used_at_ms),
    }));
  }

  /** The key whose SHA-256 is `hash`, or undefined. */
  async findByHash(hash: string): Promise<ApiKeyInfo | undefined> {
    const r = await this.#db
      .selectFrom('api_keys')
      .select(['key_id', 'app_id', 'label', 'created_at_ms', 'last_used_at_ms'])
      .where('key_sha256', '=', hash)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      keyId: r.key_id,
      appId: r.app_id,
      label: r.label,
      createdAtMs: toNumber(r.created_at_ms),
      lastUsedAtMs: r.last_used_at_ms === null ? undefined : toNumber(r.last_used_at_ms),
    };
  }

  /** Records a use of a key. */
  async touch(keyId: string, nowMs: number): Promise<void> {
    await this.#db
      .updateTable('api_keys')
      .set({ last_used_at_ms: nowMs })
      .where('key_id', '=', keyId)
      .execute();
  }

  /** Deletes a key of an app; returns whether one was deleted. */
  async delete(appId: string, keyId: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('api_keys')
      .where('app_id', '=', appId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** A setting, or undefined. */
  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
  }

  /**
   * The setting's value, created with `make()` when absent. Concurrent first starts agree: the
   * insert ignores a conflict and the stored value is read back.
   */
  async ensureSetting(key: string, make: () => string): Promise<string> {
    const existing = await this.getSetting(key);
    if (existing !== undefined) return existing;
    await this.#db
      .insertInto('settings')
      .values({ key, value: make() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const stored = await this.getSetting(key);
    if (stored === undefined) throw new Error(`setting ${key} vanished after insert`);
    return stored;
  }
}
