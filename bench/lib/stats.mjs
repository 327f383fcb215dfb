/**
 * Small numeric helpers of the benchmark reports: median, rounding, formatting, ratios and
 * the best measurement window of a series of cumulative samples.
 * @module
 */

/** The median of the finite numbers in `values`; undefined when there are none. */
export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (!sorted.length) return undefined;
  sorted.sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `x` rounded to `digits` decimals; undefined stays undefined. */
export function round(x, digits = 0) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return undefined;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `a / b` when both are finite and b ≠ 0, else undefined. */
export function ratio(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number') return undefined;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

/** A number with thousands separators and `digits` decimals; '—' when missing. */
export function fmt(value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** A ratio as `0.87×`; '—' when missing. */
export function fmtRatio(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(2)}×` : '—';
}

/** Seconds as m:ss. */
export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * The window of at least `seconds` between two samples `{ t, recv }` (t in s, recv cumulative)
 * with the highest rate of `recv`; falls back to first→last when no window is long enough.
 * @returns {{ from: object, to: object, rate: number, dt: number } | undefined}
 */
export function bestWindow(samples, seconds) {
  let best;
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      const dt = samples[j].t - samples[i].t;
      if (dt < seconds * 0.95) continue;
      const rate = (samples[j].recv - samples[i].recv) / dt;
      if (!best || rate > best.rate) best = { from: samples[i], to: samples[j], rate, dt };
      break;
    }
  }
  if (best || samples.length < 2) return best;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const dt = last.t - first.t;
  return dt > 0 ? { from: first, to: last, rate: (last.recv - first.recv) / dt, dt } : undefined;
}

/**
 * Groups runs `{ impl, case, …metrics }` by case and implementation and takes the median of
 * each metric in `metrics`.
 * @returns {Map<string, Map<string, Record<string, number|undefined> & { runs: number }>>}
 */
export function medianByCase(runs, metrics) {
  const out = new Map();
  for (const run of runs) {
    if (run.error) continue;
    let byImpl = out.get(run.case);
    if (!byImpl) out.set(run.case, (byImpl = new Map()));
    let list = byImpl.get(run.impl);
    if (!list) byImpl.set(run.impl, (list = []));
    list.push(run);
  }
  const result = new Map();
  for (const [name, byImpl] of out) {
    const row = new Map();
    for (const [impl, list] of byImpl) {
      const medians = { runs: list.length };
      for (const metric of metrics) medians[metric] = median(list.map((r) => r[metric]));
      row.set(impl, medians);
    }
    result.set(name, row);
  }
  return result;
}
