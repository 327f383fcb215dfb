/**
 * Capacity reservations and revocations in the store.
 * @module
 */
import type { Kysely } from 'kysely';
import type { Mode, Reservation, Revocation, VideoQuality } from '../model.js';
import { toNumber } from './schema.js';
import type { ControlDatabase } from './schema.js';

/** LimitsRepo reads and writes `reservations` and `revocations`. */
export class LimitsRepo {
  readonly #db: Kysely<ControlDatabase>;

  constructor(db: Kysely<ControlDatabase>) {
    this.#db = db;
  }

  /** Creates or replaces the reservation of an app in a region. */
  async putReservation(r: Reservation): Promise<void> {
    const values = {
      max_channels: r.maxChannels,
      max_users_per_channel: r.maxUsersPerChannel,
      max_proxy_users_per_channel: r.maxProxyUsersPerChannel,
      video_quality: r.videoQuality,
      mode: r.mode,
      updated_at_ms: r.updatedAtMs,
    };
    await this.#db
      .insertInto('reservations')
      .values({ app_id: r.appId, region: r.region, ...values })
      .onConflict((oc) => oc.columns(['app_id', 'region']).doUpdateSet(values))
      .execute();
  }

  /** Reservations of one app (or of every app), by region. */
  async listReservations(appId?: string): Promise<Reservation[]> {
    let query = this.#db.selectFrom('reservations').selectAll();
    if (appId !== undefined) query = query.where('app_id', '=', appId);
    const rows = await query.orderBy('app_id').orderBy('region').execute();
    return rows.map((row) => ({
      appId: row.app_id,
      region: row.region,
      maxChannels: row.max_channels,
      maxUsersPerChannel: row.max_users_per_channel,
      maxProxyUsersPerChannel: row.max_proxy_users_per_channel,
      videoQuality: row.video_quality as VideoQuality,
      mode: row.mode as Mode,
      updatedAtMs: toNumber(row.updated_at_ms),
    }));
  }

  /** Deletes a reservation; returns whether one was deleted. */
  async deleteReservation(appId: string, region: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('reservations')
      .where('app_id', '=', appId)
      .where('region', '=', region)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Creates or extends a revocation. */
  async putRevocation(r: Revocation): Promise<void> {
    await this.#db
      .insertInto('revocations')
      .values({
        app_id: r.appId,
        channel: r.channel,
        uid: r.uid ?? '',
        until_ms: r.untilMs,
        created_at_ms: r.createdAtMs,
      })
      .onConflict((oc) =>
        oc
          .columns(['app_id', 'channel', 'uid'])
          .doUpdateSet({ until_ms: r.untilMs, created_at_ms: r.createdAtMs }),
      )
      .execute();
  }

  /** Revocations still in force at `nowMs`, of one app or of all. */
  async listRevocations(nowMs: number, appId?: string): Promise<Revocation[]> {
    let query = this.#db.selectFrom('revocations').selectAll().where('until_ms', '>', nowMs);
    if (appId !== undefined) query = query.where('app_id', '=', appId);
    const rows = await query.orderBy('created_at_ms').execute();
    return rows.map((row) => ({
      appId: row.app_id,
      channel: row.channel,
      uid: row.uid === '' ? undefined : row.uid,
      untilMs: toNumber(row.until_ms),
      createdAtMs: toNumber(row.created_at_ms),
    }));
  }

  /** Lifts a revocation; returns whether one was in the store. Expired ones are purged too. */
  async deleteRevocation(
    appId: string,
    channel: string,
    uid: string | undefined,
    nowMs: number,
  ): Promise<boolean> {
    await this.#db.deleteFrom('revocations').where('until_ms', '<=', nowMs).execute();
    const result = await this.#db
      .deleteFrom('revocations')
      .where('app_id', '=', appId)
      .where('channel', '=', channel)
      .where('uid', '=', uid ?? '')
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
