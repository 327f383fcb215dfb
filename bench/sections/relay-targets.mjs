/**
 * The relay targets of the performance issue, checked on the medians of one run: CPU per
 * message at paced 20k msg/s, the most messages/s relayed with under 1% loss (with the
 * max-rate probe's steps), and the round trip added at paced load, each as ours against
 * coturn measured in the same run.
 * @module
 */
import { MAX_LOSS_PERCENT, bestProbe } from '../lib/probe.mjs';
import { fmt, fmtRatio, ratio } from '../lib/stats.mjs';

const HEADLINE = 'ChannelData 100 B paced 20k/s';
const NONE = 'no case or step under 1% loss';

/**
 * The most msg/s relayed with under 1% loss: the highest median over the cases whose median
 * loss is under 1%, or the highest passing step of the max-rate probe when that relayed more.
 * `offered` is the paced rate that passed (undefined for a flooding case).
 */
export function maxRateUnderLoss(medians, cases, impl, probeRuns = []) {
  let best;
  for (const load of cases) {
    const m = medians.get(load.name)?.get(impl);
    if (!m || m.msgPerS === undefined || m.lossPercent === undefined) continue;
    if (m.lossPercent >= MAX_LOSS_PERCENT) continue;
    if (!best || m.msgPerS > best.msgPerS) {
      best = { msgPerS: m.msgPerS, offered: load.offered, case: load.name };
    }
  }
  const step = bestProbe(probeRuns, impl);
  if (step && (!best || step.msgPerS > best.msgPerS)) {
    best = { msgPerS: step.msgPerS, offered: step.rate, case: `probe: ${step.case}` };
  }
  return best;
}

/**
 * Ours against coturn for the max-rate target: the passing paced rates when both have one
 * (two servers that pass the same step tie, whatever the noise in what each delivered), else
 * the msg/s delivered.
 */
export function maxRateRatio(best, coturn) {
  if (best?.offered && coturn?.offered) return ratio(best.offered, coturn.offered);
  return ratio(best?.msgPerS, coturn?.msgPerS);
}

/**
 * @param {object[]} [probeRuns] the max-rate probe's steps (see probe.mjs)
 * @returns {{ rows: string[][], json: object, summary: string[] }} the Markdown rows
 *   (target, one column per implementation of ours, met), the same as data, and plain lines
 */
export function relayTargets(medians, cases, ours, probeRuns = []) {
  const head = medians.get(HEADLINE);
  const coturn = head?.get('coturn');
  const json = {};
  const summary = [];
  const rows = [];
  const verdict = (values) =>
    values.length && values.every((v) => v === true)
      ? 'yes'
      : values.some((v) => v === true)
        ? 'partly'
        : 'no';

  if (head && coturn) {
    const cpu = ours.map((impl) => {
      const m = head.get(impl);
      const r = ratio(m?.cpuUsPerMsg, coturn.cpuUsPerMsg);
      return {
        impl,
        ratio: r,
        loss: m?.lossPercent,
        ok: r !== undefined && r <= 1 && m?.lossPercent === 0,
      };
    });
    json.cpuAt20k = { coturnUsPerMsg: coturn.cpuUsPerMsg, ours: cpu };
    rows.push([
      `CPU µs/msg at ${HEADLINE} ≤ 1.0× coturn (${fmt(coturn.cpuUsPerMsg, 2)}), zero loss`,
      ...cpu.map((c) => `${fmtRatio(c.ratio)}, loss ${fmt(c.loss, 2)}%`),
      verdict(cpu.map((c) => c.ok)),
    ]);
    summary.push(
      `relay CPU/msg at ${HEADLINE}: coturn ${fmt(coturn.cpuUsPerMsg, 2)} µs` +
        cpu
          .map(
            (c) =>
              `, ${c.impl} ${fmt(head.get(c.impl)?.cpuUsPerMsg, 2)} µs (${fmtRatio(c.ratio)}, loss ${fmt(c.loss, 2)}%)`,
          )
          .join(''),
    );
    const rtt = ours.map((impl) => {
      const o = head.get(impl)?.rttAvgMs;
      const addedUs =
        o !== undefined && coturn.rttAvgMs !== undefined ? (o - coturn.rttAvgMs) * 1000 : undefined;
      return { impl, addedUs, ok: addedUs !== undefined && addedUs <= 100 };
    });
    json.rttAt20k = { coturnAvgMs: coturn.rttAvgMs, ours: rtt };
    rows.push([
      `RTT average at ${HEADLINE} ≤ coturn’s (${fmt(coturn.rttAvgMs, 2)} ms) + 100 µs`,
      ...rtt.map((r) =>
        r.addedUs === undefined ? '—' : `${r.addedUs >= 0 ? '+' : ''}${fmt(r.addedUs)} µs`,
      ),
      verdict(rtt.map((r) => r.ok)),
    ]);
    summary.push(
      `relay RTT avg at ${HEADLINE}: coturn ${fmt(coturn.rttAvgMs, 2)} ms` +
        rtt
          .map(
            (r) =>
              `, ${r.impl} ${r.addedUs === undefined ? '—' : `${r.addedUs >= 0 ? '+' : ''}${fmt(r.addedUs)} µs`}`,
          )
          .join(''),
    );
  }

  const coturnMax = maxRateUnderLoss(medians, cases, 'coturn', probeRuns);
  if (coturnMax) {
    const max = ours.map((impl) => {
      const best = maxRateUnderLoss(medians, cases, impl, probeRuns);
      const r = maxRateRatio(best, coturnMax);
      return { impl, ...best, ratio: r, ok: r !== undefined && r >= 1 };
    });
    json.maxRate = { coturn: coturnMax, ours: max };
    rows.push([
      `max msg/s with < 1% loss ≥ 1.0× coturn (${fmt(coturnMax.msgPerS)}, ${coturnMax.case})`,
      ...max.map((m) => (m.case ? `${fmt(m.msgPerS)}, ${m.case} (${fmtRatio(m.ratio)})` : NONE)),
      verdict(max.map((m) => m.ok)),
    ]);
    summary.push(
      `relay max msg/s with <1% loss: coturn ${fmt(coturnMax.msgPerS)} (${coturnMax.case})` +
        max
          .map((m) =>
            m.case
              ? `, ${m.impl} ${fmt(m.msgPerS)} (${m.case}; ${fmtRatio(m.ratio)})`
              : `, ${m.impl} ${NONE}`,
          )
          .join(''),
    );
  }
  return { rows, json, summary };
}
