/**
 * BandwidthHistory: relayed bytes per 10-second sample over the last hour, in total and per app,
 * for the console chart (`GET /api/v1/stats/bandwidth`).
 * @module
 */

/** Width of one sample. */
export const SAMPLE_MS = 10_000;
/** How far back samples are kept. */
export const HISTORY_MS = 3_600_000;

/** One sample: bytes relayed in the 10 seconds starting at `t` (Unix ms). */
export interface BandwidthSample {
  readonly t: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

interface MutableSample {
  t: number;
  bytesIn: number;
  bytesOut: number;
}

const ALL = '';

/** BandwidthHistory keeps ring-like lists of samples per app ('' = all apps). */
export class BandwidthHistory {
  readonly #series = new Map<string, MutableSample[]>();

  /** Adds bytes to the sample containing `nowMs`, for the app and for the total. */
  add(appId: string, bytesIn: number, bytesOut: number, nowMs: number): void {
    if (bytesIn === 0 && bytesOut === 0) return;
    for (const key of [ALL, appId]) this.#addTo(key, bytesIn, bytesOut, nowMs);
  }

  #addTo(key: string, bytesIn: number, bytesOut: number, nowMs: number): void {
    const t = Math.floor(nowMs / SAMPLE_MS) * SAMPLE_MS;
    let series = this.#series.get(key);
    if (!series) {
      series = [];
      this.#series.set(key, series);
    }
    let last = series.at(-1);
    if (last?.t !== t) {
      last = { t, bytesIn: 0, bytesOut: 0 };
      series.push(last);
      while (series.length > 0 && (series[0]?.t ?? t) <= t - HISTORY_MS) series.shift();
    }
    last.bytesIn += bytesIn;
    last.bytesOut += bytesOut;
  }

  /**
   * The samples of the last `minutes` (1-60) for one app or all, oldest first, one per 10
   * seconds (zeros where nothing was relayed).
   */
  samples(appId: string | undefined, minutes: number, nowMs: number): BandwidthSample[] {
    const series = this.#series.get(appId ?? ALL) ?? [];
    const byT = new Map(series.map((s) => [s.t, s]));
    const end = Math.floor(nowMs / SAMPLE_MS) * SAMPLE_MS;
    const count = Math.round((minutes * 60_000) / SAMPLE_MS);
    const out: BandwidthSample[] = [];
    for (let t = end - (count - 1) * SAMPLE_MS; t <= end; t += SAMPLE_MS) {
      const s = byT.get(t);
      out.push({ t, bytesIn: s?.bytesIn ?? 0, bytesOut: s?.bytesOut ?? 0 });
    }
    return out;
  }
}
