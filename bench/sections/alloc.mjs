/**
 * Allocation-rate section: authenticated Allocate + CreatePermission + ChannelBind sequences
 * per second, each on a new client socket (a new 5-tuple), offered at rising rates until more
 * than 1% of the sequences fail or the server falls behind; coturn and ours alternating at each
 * rate, each step against a freshly started server (so earlier allocations do not add up).
 * @module
 */
import { performance } from 'node:perf_hooks';
import { startLoadTarget } from '../lib/turn-client.mjs';
import { markdownTable } from '../lib/report.mjs';
import { fmt, fmtRatio, ratio, round } from '../lib/stats.mjs';
import { openFileLimit, processUsage } from '../lib/proc.mjs';
import { sleep } from '../lib/net.mjs';
import { COTURN_BIN, requireTools } from '../lib/servers.mjs';

const RELAY = { relayIps: ['127.0.0.2'], minPort: 1024, maxPort: 65535 };
const PEER = { address: '127.0.0.1', port: 9 };

function settings(ctx) {
  return ctx.quick
    ? { rates: [200, 400, 800], stepS: 1, timeoutMs: 2000 }
    : { rates: [500, 1000, 2000, 4000, 8000, 16_000], stepS: 2, timeoutMs: 2000 };
}

/** @type {import('../run.mjs').Section} */
export const allocSection = {
  name: 'alloc',
  title: 'Allocation rate: cloudproxy vs coturn',
  plan(ctx) {
    const s = settings(ctx);
    return { steps: s.rates.length * ctx.turnImpls.length, secondsEach: s.stepS + 2.5 };
  },
  async run(ctx) {
    requireTools([COTURN_BIN]);
    const s = settings(ctx);
    const fdBudget = openFileLimit().soft - 1000;
    const { secondsEach } = this.plan(ctx);
    const steps = [];
    const stopped = new Map();
    for (const rate of s.rates) {
      for (const impl of ctx.turnImpls) {
        if (stopped.has(impl)) {
          ctx.progress.drop(1, secondsEach);
          continue;
        }
        const count = Math.min(rate * s.stepS, fdBudget);
        ctx.progress.start(
          'alloc',
          `${impl} ${fmt(rate)} sequences/s offered, ${fmt(count)} sequences`,
        );
        const step = await runStep(ctx, impl, rate, count, s);
        steps.push(step);
        ctx.progress.finish(secondsEach, describeStep(step));
        const why = stopReason(step);
        if (why) stopped.set(impl, why);
      }
    }
    return report(ctx, s, steps, stopped, fdBudget);
  },
};

/** Why the ramp of one implementation ends after `step` (undefined: go on). */
export function stopReason(step) {
  if (step.error) return `error: ${step.error.split('\n')[0]}`;
  if (step.failedPercent > 1) return `${fmt(step.failedPercent, 1)}% of sequences failed`;
  if (step.achievedPerS < 0.9 * step.offeredPerS) return 'below 90% of the offered rate';
  if (step.count < step.offeredPerS * step.stepS) return 'open-file limit reached';
  return undefined;
}

async function runStep(ctx, impl, rate, count, s) {
  const base = { impl, offeredPerS: rate, count, stepS: s.stepS };
  let target;
  try {
    target = await startLoadTarget(ctx, impl, RELAY, s.timeoutMs);
    return { ...base, ...(await drive(target.client, target.server, rate, count)) };
  } catch (err) {
    return { ...base, error: String(err.message ?? err) };
  } finally {
    await target?.stop();
  }
}

async function drive(client, server, rate, count) {
  await sleep(300);
  const durations = [];
  const errors = {};
  const cpu0 = processUsage(server.pid);
  const clientCpu0 = process.cpuUsage();
  const t0 = performance.now();
  let launched = 0;
  let lastDoneMs = 0;
  const inFlight = new Set();
  const launch = () => {
    const started = performance.now();
    const p = client
      .open()
      .then((session) => client.allocate(session, { peer: PEER }))
      .then(
        () => {
          durations.push(performance.now() - started);
          lastDoneMs = performance.now() - t0;
        },
        (err) => (errors[err.code ?? 'other'] = (errors[err.code ?? 'other'] ?? 0) + 1),
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  while (launched < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (launched < due) {
      launch();
      launched++;
    }
    await sleep(2);
  }
  await Promise.all([...inFlight]);
  // Up to the last success: a timed-out sequence at the end does not stretch the rate.
  const wallS = Math.max(lastDoneMs / 1000, count / rate);
  const cpu1 = processUsage(server.pid);
  const clientCpu = process.cpuUsage(clientCpu0);
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  durations.sort((a, b) => a - b);
  const serverCpuS = cpu1 && cpu0 ? cpu1.cpuS - cpu0.cpuS : undefined;
  return {
    completed: durations.length,
    failed,
    failedPercent: round((failed / count) * 100, 2),
    errors,
    achievedPerS: round(durations.length / wallS),
    wallS: round(wallS, 2),
    latencyP50Ms: round(durations[Math.floor(durations.length * 0.5)], 2),
    latencyP99Ms: round(durations[Math.floor(durations.length * 0.99)], 2),
    serverCpuUsPerSeq:
      serverCpuS === undefined
        ? undefined
        : round((serverCpuS / Math.max(1, durations.length)) * 1e6, 1),
    serverCpuPercent: serverCpuS === undefined ? undefined : round((serverCpuS / wallS) * 100, 1),
    clientCpuPercent: round(((clientCpu.user + clientCpu.system) / 1e6 / wallS) * 100, 1),
    serverRssMiB: cpu1 ? round(cpu1.rssBytes / 2 ** 20, 1) : undefined,
  };
}

function describeStep(step) {
  if (step.error) return `ERROR ${step.error.split('\n')[0]}`;
  const errors = Object.entries(step.errors)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
  return (
    `${fmt(step.achievedPerS)}/s done, ${fmt(step.failedPercent, 2)}% failed${errors ? ` (${errors})` : ''}, ` +
    `p50 ${fmt(step.latencyP50Ms, 1)} ms, p99 ${fmt(step.latencyP99Ms, 1)} ms, server ${fmt(step.serverCpuUsPerSeq)} µs/sequence ` +
    `(${fmt(step.serverCpuPercent)}% CPU), client ${fmt(step.clientCpuPercent)}% CPU`
  );
}

/** The highest achieved rate among the steps of `impl` with ≤ 1% failures. */
export function bestRate(steps, impl) {
  let best;
  for (const step of steps) {
    if (step.impl !== impl || step.error || step.failedPercent > 1) continue;
    if (!best || step.achievedPerS > best.achievedPerS) best = step;
  }
  return best;
}

function report(ctx, s, steps, stopped, fdBudget) {
  const rows = steps.map((st) => [
    st.impl,
    fmt(st.offeredPerS),
    fmt(st.count),
    st.error ? 'error' : fmt(st.achievedPerS),
    fmt(st.failedPercent, 2),
    st.errors
      ? Object.entries(st.errors)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')
      : '',
    `${fmt(st.latencyP50Ms, 1)} / ${fmt(st.latencyP99Ms, 1)}`,
    fmt(st.serverCpuUsPerSeq),
    fmt(st.serverCpuPercent),
    fmt(st.clientCpuPercent),
  ]);
  const coturn = bestRate(steps, 'coturn');
  const best = ctx.turnImpls.map((impl) => ({ impl, step: bestRate(steps, impl) }));
  const summary = [
    `alloc sequences/s (Allocate+CreatePermission+ChannelBind, ≤1% failed): ${best
      .map(
        ({ impl, step }) =>
          `${impl} ${fmt(step?.achievedPerS)}${impl === 'coturn' ? '' : ` (${fmtRatio(ratio(step?.achievedPerS, coturn?.achievedPerS))})`}`,
      )
      .join(', ')}`,
  ];
  const clientBound = steps.some((st) => (st.clientCpuPercent ?? 0) > 90);
  const markdown = [
    `Each sequence: a new UDP socket, Allocate (401 challenge, then long-term credentials), CreatePermission and ChannelBind for one peer, no retransmission (timeout ${s.timeoutMs} ms = failure). Offered rates ${s.rates.map((r) => fmt(r)).join(', ')}/s for ${s.stepS} s each (at most ${fmt(fdBudget)} sequences per step: the open-file limit); each step against a freshly started server, implementations alternating; a ramp stops after a step with > 1% failures or below 90% of the offered rate. Relay addresses on 127.0.0.2, ports 1024–65535 on both servers. The load client is one Node process using @cloudproxy/stun.`,
    ctx.implNote ? `\n${ctx.implNote}\n` : '',
    markdownTable(
      [
        'server',
        'offered/s',
        'sequences',
        'done/s',
        'failed %',
        'failures',
        'latency ms p50 / p99',
        'server µs/sequence',
        'server CPU %',
        'client CPU %',
      ],
      rows,
    ),
    '',
    markdownTable(
      ['server', 'best done/s with ≤ 1% failed', 'ours/coturn', 'ramp ended because'],
      best.map(({ impl, step }) => [
        impl,
        fmt(step?.achievedPerS),
        impl === 'coturn' ? '' : fmtRatio(ratio(step?.achievedPerS, coturn?.achievedPerS)),
        stopped.get(impl) ?? 'highest offered rate passed',
      ]),
    ),
    clientBound
      ? '\nThe load client used more than 90% of a core in some steps: there the client, not the server, set the rate.'
      : '',
  ].join('\n');
  return {
    markdown,
    json: { settings: s, fdBudget, steps, stopped: Object.fromEntries(stopped) },
    summary,
  };
}
