/**
 * Daily usage in the store: upsert-add of counter deltas (portable `ON CONFLICT … DO UPDATE`
 * with `excluded`, which SQLite and PostgreSQL both speak) and range queries.
 * @module
 */
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { UsageRow } from '../model.js';
import { USAGE_COUNTERS } from './migrations.js';
import { toNumber } from './schema.js';
import type { ControlDatabase } from './schema.js';

/** A query of usage rows. */
export interface UsageQuery {
  readonly appId: string;
  readonly fromDay: string;
  readonly toDay: string;
  readonly channel?: string | undefined;
}

/** UsageRepo reads and adds to `usage_daily`. */
export class UsageRepo {
  readonly #db: Kysely<ControlDatabase>;

  constructor(db: Kysely<ControlDatabase>) {
    this.#db = db;
  }

  /**
   * Adds deltas to their (app, channel, day) rows in one transaction: counters add up,
   * `peakProxyUsers` keeps the larger value.
   */
  async add(deltas: readonly UsageRow[]): Promise<void> {
    if (deltas.length === 0) return;
    await this.#db.transaction().execute(async (tx) => {
      for (const d of deltas) {
        const values = {
          allocations: d.allocations,
          relay_ms: Math.round(d.relayMs),
          bytes_in_udp: d.bytesIn.udp,
          bytes_out_udp: d.bytesOut.udp,
          bytes_in_tcp: d.bytesIn.tcp,
          bytes_out_tcp: d.bytesOut.tcp,
          bytes_in_tls: d.bytesIn.tls,
          bytes_out_tls: d.bytesOut.tls,
        };
        await tx
          .insertInto('usage_daily')
          .values({
            app_id: d.appId,
            channel: d.channel,
            day: d.day,
            ...values,
            peak_proxy_users: d.peakProxyUsers,
          })
          .onConflict((oc) =>
            oc.columns(['app_id', 'day', 'channel']).doUpdateSet(() => {
              const set: Record<string, unknown> = {};
              for (const c of USAGE_COUNTERS)
                set[c] = sql`${sql.ref(`usage_daily.${c}`)} + ${sql.ref(`excluded.${c}`)}`;
              set['peak_proxy_users'] =
                sql`case when excluded.peak_proxy_users > usage_daily.peak_proxy_users then excluded.peak_proxy_users else usage_daily.peak_proxy_users end`;
              return set;
            }),
          )
          .execute();
      }
    });
  }

  /** Rows of an app between two days (inclusive), by day then channel. */
  async query(q: UsageQuery): Promise<UsageRow[]> {
    let query = this.#db
      .selectFrom('usage_daily')
      .selectAll()
      .where('app_id', '=', q.appId)
      .where('day', '>=', q.fromDay)
      .where('day', '<=', q.toDay);
    if (q.channel !== undefined) query = query.where('channel', '=', q.channel);
    const rows = await query.orderBy('day').orderBy('channel').execute();
    return rows.map((r) => ({
      appId: r.app_id,
      channel: r.channel,
      day: r.day,
      allocations: toNumber(r.allocations),
      relayMs: toNumber(r.relay_ms),
      bytesIn: {
        udp: toNumber(r.bytes_in_udp),
        tcp: toNumber(r.bytes_in_tcp),
        tls: toNumber(r.bytes_in_tls),
      },
      bytesOut: {
        udp: toNumber(r.bytes_out_udp),
        tcp: toNumber(r.bytes_out_tcp),
        tls: toNumber(r.bytes_out_tls),
      },
      peakProxyUsers: r.peak_proxy_users,
    }));
  }
}
