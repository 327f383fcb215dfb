/**
 * UsageMeter: turns what the relay counted into daily usage rows. Allocations are counted at
 * admission; bytes and relay time are added as deltas since the last poll of
 * `relay.listAllocations()`, and the rest at release from the relay's final numbers, so the
 * totals equal exactly what the relay counted. Pending deltas are flushed to the store by the
 * caller (`take()`; `restore()` puts them back when a flush fails).
 *
 * Relay time is measured on a monotonic clock (as the relay measures it), so a step of the wall
 * clock neither adds nor removes relay time; the wall clock only picks the UTC day of a delta.
 * @module
 */
import { dayOf } from '../model.js';
import type { Transport, UsageRow } from '../model.js';
import type { AllocationSnapshot, AllocationUsage, RelayTransport } from '../relay-node.js';
import type { BandwidthHistory } from './bandwidth.js';

/** Who an allocation belongs to. */
export interface AllocationOwner {
  readonly appId: string;
  readonly channel: string;
}

interface LiveEntry extends AllocationOwner {
  readonly transport: Transport;
  readonly startedAtMs: number;
  bytesIn: number;
  bytesOut: number;
  accountedMs: number;
}

interface PendingRow {
  appId: string;
  channel: string;
  day: string;
  allocations: number;
  relayMs: number;
  bytesIn: Record<Transport, number>;
  bytesOut: Record<Transport, number>;
  peakProxyUsers: number;
}

/** The key of an allocation: its 5-tuple side at the client plus its username. */
export function allocationKey(a: {
  transport: RelayTransport;
  clientAddress: string;
  clientPort: number;
  username: string;
}): string {
  return `${a.transport}|${a.clientAddress}|${a.clientPort}|${a.username}`;
}

/** UsageMeter accumulates usage deltas in memory until they are flushed. */
export class UsageMeter {
  readonly #pending = new Map<string, PendingRow>();
  readonly #live = new Map<string, LiveEntry>();
  readonly #bandwidth: BandwidthHistory;
  readonly #clock: () => number;
  readonly #monotonicMs: () => number;

  /**
   * `clock` is wall time (the UTC day of each delta); `monotonicMs` measures relay time
   * (default `performance.now`).
   */
  constructor(options: {
    bandwidth: BandwidthHistory;
    clock: () => number;
    monotonicMs?: (() => number) | undefined;
  }) {
    this.#bandwidth = options.bandwidth;
    this.#clock = options.clock;
    this.#monotonicMs = options.monotonicMs ?? (() => performance.now());
  }

  #row(owner: AllocationOwner, nowMs: number): PendingRow {
    const day = dayOf(nowMs);
    const key = `${owner.appId}\0${owner.channel}\0${day}`;
    let row = this.#pending.get(key);
    if (!row) {
      row = {
        appId: owner.appId,
        channel: owner.channel,
        day,
        allocations: 0,
        relayMs: 0,
        bytesIn: { udp: 0, tcp: 0, tls: 0 },
        bytesOut: { udp: 0, tcp: 0, tls: 0 },
        peakProxyUsers: 0,
      };
      this.#pending.set(key, row);
    }
    return row;
  }

  /** Counts an admitted allocation and the channel's proxy users after it. */
  admitted(
    key: string,
    owner: AllocationOwner,
    transport: Transport,
    proxyUsersInChannel: number,
  ): void {
    const nowMs = this.#clock();
    const row = this.#row(owner, nowMs);
    row.allocations += 1;
    row.peakProxyUsers = Math.max(row.peakProxyUsers, proxyUsersInChannel);
    this.#live.set(key, {
      ...owner,
      transport,
      startedAtMs: this.#monotonicMs(),
      bytesIn: 0,
      bytesOut: 0,
      accountedMs: 0,
    });
  }

  #account(entry: LiveEntry, bytesIn: number, bytesOut: number, elapsedMs: number): void {
    const nowMs = this.#clock();
    const dIn = Math.max(0, bytesIn - entry.bytesIn);
    const dOut = Math.max(0, bytesOut - entry.bytesOut);
    const dMs = Math.max(0, elapsedMs - entry.accountedMs);
    if (dIn === 0 && dOut === 0 && dMs === 0) return;
    const row = this.#row(entry, nowMs);
    row.bytesIn[entry.transport] += dIn;
    row.bytesOut[entry.transport] += dOut;
    row.relayMs += dMs;
    entry.bytesIn += dIn;
    entry.bytesOut += dOut;
    entry.accountedMs += dMs;
    this.#bandwidth.add(entry.appId, dIn, dOut, nowMs);
  }

  /** Adds the deltas of live allocations since the last poll. */
  observe(snapshots: readonly AllocationSnapshot[]): void {
    const nowMs = this.#monotonicMs();
    for (const s of snapshots) {
      const entry = this.#live.get(allocationKey(s));
      if (!entry) continue;
      this.#account(entry, s.bytesFromClient, s.bytesToClient, nowMs - entry.startedAtMs);
    }
  }

  /** Adds the final numbers of an ended allocation and forgets it. */
  released(key: string, usage: AllocationUsage): void {
    const entry = this.#live.get(key);
    if (!entry) return;
    this.#account(entry, usage.bytesFromClient, usage.bytesToClient, usage.durationMs);
    this.#live.delete(key);
  }

  /** Takes every pending delta (the meter starts from zero again). */
  take(): UsageRow[] {
    const rows = [...this.#pending.values()];
    this.#pending.clear();
    return rows;
  }

  /** Puts deltas back after a failed flush (they are added to whatever came in since). */
  restore(rows: readonly UsageRow[]): void {
    for (const r of rows) {
      const row = this.#row(r, Date.parse(`${r.day}T00:00:00Z`));
      row.allocations += r.allocations;
      row.relayMs += r.relayMs;
      for (const t of ['udp', 'tcp', 'tls'] as const) {
        row.bytesIn[t] += r.bytesIn[t];
        row.bytesOut[t] += r.bytesOut[t];
      }
      row.peakProxyUsers = Math.max(row.peakProxyUsers, r.peakProxyUsers);
    }
  }
}
