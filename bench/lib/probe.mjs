/**
 * Max-rate probes: one ramp of stepped offered rates per server, ending at the server's first
 * step with ≥ 1% loss in two tries (on a shared machine one step can fail on a hiccup). The
 * highest passing step is the server's most messages/s relayed with under 1% loss.
 * @module
 */
import { fmt } from './stats.mjs';

/** A probe step passes below this loss (%). */
export const MAX_LOSS_PERCENT = 1;

/** Why a probe step fails (the ramp of that server ends there), or undefined. */
export function probeFailure(run) {
  if (run.error) return `error: ${run.error.split('\n')[0]}`;
  if (run.lossPercent >= MAX_LOSS_PERCENT) return `${fmt(run.lossPercent, 2)}% loss`;
  return undefined;
}

/** The highest passing probe step of `impl` (undefined when none passed). */
export function bestProbe(runs, impl) {
  let best;
  for (const r of runs) {
    if (!r.probe || r.impl !== impl || probeFailure(r)) continue;
    if (!best || r.rate > best.rate) best = r;
  }
  return best;
}

/**
 * Runs the ramp: every rate for every implementation still in it, the implementations
 * alternating at each step. `step(impl, rate, label)` runs one step and returns its run.
 * @returns {Promise<{ runs: object[], stopped: Map<string, string> }>} the probe runs (marked
 *   `probe`, retries also `retry`) and why each stopped implementation's ramp ended
 */
export async function rampProbe(ctx, { rates, secondsEach, step }) {
  const runs = [];
  const stopped = new Map();
  for (const rate of rates) {
    for (const impl of ctx.turnImpls) {
      if (stopped.has(impl)) {
        ctx.progress.drop(1, secondsEach);
        continue;
      }
      const label = `max-rate probe ${fmt(rate)}`;
      const run = Object.assign(await step(impl, rate, label), { probe: true });
      runs.push(run);
      let why = probeFailure(run);
      if (why) {
        ctx.progress.plan(1, secondsEach);
        const again = await step(impl, rate, `${label} again (${why})`);
        runs.push(Object.assign(again, { probe: true, retry: true }));
        why = probeFailure(again);
      }
      if (why) stopped.set(impl, why);
    }
  }
  return { runs, stopped };
}
