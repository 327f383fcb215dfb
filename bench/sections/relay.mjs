/**
 * Relay section: coturn and `cloudproxy turn` (JavaScript and native data plane) under the same
 * `turnutils_uclient` loads on loopback, each run against a freshly started server, the
 * implementations alternating within every round so that machine drift cancels. Every message
 * goes client → relay → `turnutils_peer` echo → relay → client: it crosses the relay twice.
 * @module
 */
import { relayTargets } from './relay-targets.mjs';
import { alternatingRuns, mediansToJson } from '../lib/turn-runs.mjs';
import { markdownTable } from '../lib/report.mjs';
import { MAX_LOSS_PERCENT, bestProbe } from '../lib/probe.mjs';
import { fmt, fmtRatio, medianByCase, ratio } from '../lib/stats.mjs';
import {
  COTURN_THREADS,
  PEER_BIN,
  UCLIENT_BIN,
  COTURN_BIN,
  requireTools,
} from '../lib/servers.mjs';

const METRICS = ['msgPerS', 'lossPercent', 'rttAvgMs', 'rttMaxMs', 'cpuUsPerMsg', 'rssMiB'];
const METRICS_EXTRA = ['serverCpuPercent'];

/**
 * Every load case. Paced: 40 sessions, one message every 2 ms (20k msg/s) or 1 ms (40k msg/s)
 * each, for `sendS` seconds; unpaced: 1, 10 or 50 sessions flooding (`-z 0`).
 */
export function allRelayCases(sendS) {
  const cases = [];
  for (const send of [false, true]) {
    for (const size of [100, 1200]) {
      const kind = send ? 'Send' : 'ChannelData';
      for (const [rate, intervalMs] of [
        [20_000, 2],
        [40_000, 1],
      ]) {
        cases.push({
          name: `${kind} ${size} B paced ${rate / 1000}k/s`,
          ...{ send, size, clients: 40, intervalMs, offered: rate },
          messages: Math.round((sendS * 1000) / intervalMs),
        });
      }
      for (const clients of [1, 10, 50]) {
        cases.push({
          name: `${kind} ${size} B unpaced ${clients} client${clients === 1 ? '' : 's'}`,
          ...{ send, size, clients, intervalMs: 0, offered: undefined, messages: 10_000_000 },
        });
      }
    }
  }
  return cases;
}

const DEFAULT_CASES = [
  'ChannelData 100 B paced 20k/s',
  'ChannelData 100 B paced 40k/s',
  'ChannelData 100 B unpaced 10 clients',
  'ChannelData 1200 B paced 20k/s',
  'Send 100 B paced 20k/s',
];
const QUICK_CASES = ['ChannelData 100 B paced 20k/s', 'ChannelData 100 B unpaced 10 clients'];

/**
 * The max-rate probe's load at `rate` msg/s: ChannelData 100 B, `rate / 1000` sessions each
 * sending every 1 ms. Flooding (`-z 0`) measures the client: 10 flooding sessions relay under
 * 100k msg/s with neither server busy, and at 50 both lose a third of the messages. uclient
 * itself stops being usable above about 250 sessions (its sessions get 437 Allocation
 * Mismatch from either server), so the probe tops out at 220k.
 */
export function probeLoad(rate, sendS) {
  const clients = Math.round(rate / 1000);
  return {
    name: `ChannelData 100 B paced ${rate / 1000}k/s (${clients} sessions)`,
    ...{ send: false, size: 100, clients, intervalMs: 1, offered: rate, probe: true },
    messages: sendS * 1000,
  };
}

function settings(ctx) {
  const sendS = ctx.quick ? 4 : 7;
  const all = allRelayCases(sendS);
  let cases;
  if (ctx.caseFilter.length) {
    cases = all.filter((c) => ctx.caseFilter.some((text) => c.name.includes(text)));
  } else if (ctx.matrix === 'all') cases = all;
  else cases = all.filter((c) => (ctx.quick ? QUICK_CASES : DEFAULT_CASES).includes(c.name));
  // A run filtered by --case probes only when one of them is `probe`.
  const probe = !ctx.caseFilter.length || ctx.caseFilter.includes('probe');
  const probeRates = !probe
    ? []
    : ctx.quick
      ? [60_000, 100_000]
      : [100_000, 140_000, 170_000, 190_000, 200_000, 210_000, 220_000];
  return {
    ...{ sendS, cases, probeRates, probeSendS: ctx.quick ? 7 : 10, windowS: 2 },
    ...{ pacedTimeoutS: sendS + 20, unpacedTimeoutS: 25 },
  };
}

/** Seconds a probe step takes about (allocations, uclient's staggered starts, the drain). */
const PROBE_STEP_S = 45;

/**
 * The bound of a probe step: uclient connects about 10 sessions a second (23–28 s for 220),
 * starts each 1–6 s later, sends for `sendS` s and waits up to 10 s for late answers.
 */
export function probeTimeoutS(load, sendS) {
  return Math.ceil(load.clients * 0.15 + 6 + sendS + 12);
}

/** Seconds a case run takes about, on average over the cases of `s`. */
function caseSeconds(s) {
  const paced = s.cases.filter((c) => c.intervalMs > 0).length / Math.max(1, s.cases.length);
  return paced * (s.sendS + 8) + (1 - paced) * 10.5;
}

/** @type {import('../run.mjs').Section} */
export const relaySection = {
  name: 'relay',
  title: 'TURN relay over UDP: cloudproxy vs coturn',
  plan(ctx) {
    const s = settings(ctx);
    const runs = s.cases.length * ctx.rounds * ctx.turnImpls.length;
    const caseS = caseSeconds(s);
    const probeSteps = s.probeRates.length * ctx.turnImpls.length;
    const steps = runs + probeSteps;
    return { steps, secondsEach: (runs * caseS + probeSteps * PROBE_STEP_S) / Math.max(1, steps) };
  },
  async run(ctx) {
    requireTools([COTURN_BIN, UCLIENT_BIN, PEER_BIN]);
    const s = settings(ctx);
    if (!s.cases.length && !s.probeRates.length) throw new Error('relay: no case matches --case');
    const { runs, commands, stopped } = await alternatingRuns(ctx, 'relay', s.cases, {
      windowS: s.windowS,
      timeoutS: (load) =>
        load.probe
          ? probeTimeoutS(load, s.probeSendS)
          : load.intervalMs === 0
            ? s.unpacedTimeoutS
            : s.pacedTimeoutS,
      // The probe gives both servers the same threads: coturn's relay threads, our workers.
      server: (load) => (load.probe ? { dataPlaneThreads: COTURN_THREADS } : {}),
      secondsEach: caseSeconds(s),
      probe: s.probeRates.length
        ? {
            rates: s.probeRates,
            load: (rate) => probeLoad(rate, s.probeSendS),
            secondsEach: PROBE_STEP_S,
          }
        : undefined,
    });
    return report(ctx, s, runs, commands, stopped);
  },
};

function report(ctx, s, runs, commands, stopped) {
  const impls = ctx.turnImpls;
  const probeRuns = runs.filter((r) => r.probe);
  const medians = medianByCase(
    runs.filter((r) => !r.probe),
    [...METRICS, ...METRICS_EXTRA],
  );
  const rows = [];
  for (const load of s.cases) {
    for (const impl of impls) {
      const m = medians.get(load.name)?.get(impl);
      if (!m) {
        rows.push([load.name, impl, 'error', '', '', '', '', '', '']);
        continue;
      }
      rows.push([
        load.name,
        impl,
        load.offered ? fmt(load.offered) : 'max',
        fmt(m.msgPerS),
        fmt(m.lossPercent, 2),
        m.rttAvgMs === undefined ? '—' : `${fmt(m.rttAvgMs, 2)} / ${fmt(m.rttMaxMs)}`,
        fmt(m.cpuUsPerMsg, 2),
        fmt(m.serverCpuPercent),
        fmt(m.rssMiB, 1),
      ]);
    }
  }
  const ours = impls.filter((i) => i !== 'coturn');
  const ratioRows = [];
  for (const load of s.cases) {
    const c = medians.get(load.name)?.get('coturn');
    for (const impl of ours) {
      const o = medians.get(load.name)?.get(impl);
      const rttDiffUs =
        o?.rttAvgMs !== undefined && c?.rttAvgMs !== undefined
          ? (o.rttAvgMs - c.rttAvgMs) * 1000
          : undefined;
      ratioRows.push([
        load.name,
        `${impl}/coturn`,
        fmtRatio(ratio(o?.msgPerS, c?.msgPerS)),
        fmtRatio(ratio(o?.cpuUsPerMsg, c?.cpuUsPerMsg)),
        fmtRatio(ratio(o?.rssMiB, c?.rssMiB)),
        rttDiffUs === undefined ? '—' : `${rttDiffUs >= 0 ? '+' : ''}${fmt(rttDiffUs)} µs`,
      ]);
    }
  }
  const targets = relayTargets(medians, s.cases, ours, probeRuns);
  const errors = runs.filter((r) => r.error);
  const markdown = [
    `Load: \`turnutils_uclient\` over UDP on loopback, each session relaying to a \`turnutils_peer\` echo peer (a message crosses the relay twice; RTT = round trip). Paced: 40 sessions, \`-z 2\` (20k msg/s) or \`-z 1\` (40k msg/s), ${s.sendS} s of messages each; unpaced: \`-z 0\`, stopped ${s.windowS + 7.2} s after the allocations. ${ctx.rounds} round(s) per case, the implementations alternating within each round, each run against a freshly started server; medians shown.`,
    '',
    `Server flags (both): ${'`'}${commands.coturn ?? commands['ours-js'] ?? ''}${'`'}${commands['ours-js'] ? `; ours: ${'`'}${commands['ours-js']}${'`'}` : ''}${commands['ours-native'] ? `; native: ${'`'}${commands['ours-native']}${'`'}` : ''}. coturn runs \`--relay-threads ${COTURN_THREADS}\` (the cores the native data plane uses; set BENCH_THREADS to change).`,
    ctx.implNote ? `\n${ctx.implNote}\n` : '',
    markdownTable(
      [
        'case',
        'server',
        'offered msg/s',
        'msg/s',
        'loss %',
        'RTT ms avg / max',
        'CPU µs/msg',
        'server CPU %',
        'RSS MiB',
      ],
      rows,
    ),
    '',
    '### Ours / coturn (medians)',
    '',
    markdownTable(['case', 'ratio', 'msg/s', 'CPU µs/msg', 'RSS', 'RTT avg'], ratioRows),
    '',
    ...probeSection(ctx, s, probeRuns, stopped),
    '### Targets',
    '',
    markdownTable(['target', ...ours.map((i) => i), 'met'], targets.rows),
    '',
    '- **msg/s**: messages received back by uclient per second over the best 2-s window of its progress lines.',
    '- **loss %**: from uclient’s final report; `~` marks a run stopped before it: unpaced, where loss is 1 − received/sent over the best window, or paced at its bound, where it is over the whole run.',
    '- **RTT**: uclient’s average and maximum round trip (1-ms resolution).',
    '- **CPU µs/msg**: the server process’s utime+stime (`/proc/PID/stat`, all its threads) over the run, divided by the messages received back; uclient and the echo peer are not counted. **server CPU %**: the same over the best window, in % of one core.',
    '- **RSS**: the server’s largest resident set during the run.',
    errors.length
      ? `\nErrors:\n${errors.map((e) => `- ${e.impl} ${e.case} round ${e.round}: ${e.error.split('\n')[0]}`).join('\n')}`
      : '',
  ].join('\n');
  return {
    markdown,
    json: {
      cases: s.cases,
      probeRates: s.probeRates,
      medians: mediansToJson(medians),
      probe: { stopped: Object.fromEntries(stopped) },
      targets: targets.json,
      runs,
    },
    summary: targets.summary,
  };
}

/** The max-rate probe's Markdown: the highest passing step of each server, then every step. */
function probeSection(ctx, s, probeRuns, stopped) {
  if (!s.probeRates.length) return [];
  const coturn = bestProbe(probeRuns, 'coturn');
  const best = ctx.turnImpls.map((impl) => {
    const b = bestProbe(probeRuns, impl);
    return [
      impl,
      fmt(b?.rate),
      fmt(b?.msgPerS),
      impl === 'coturn' ? '' : fmtRatio(ratio(b?.rate, coturn?.rate)),
      fmt(b?.cpuUsPerMsg, 2),
      fmt(b?.serverCpuPercent),
      stopped.get(impl) ?? 'highest step passed',
    ];
  });
  const steps = probeRuns.map((r) => [
    `${fmt(r.rate)}${r.retry ? ' (again)' : ''}`,
    r.impl,
    r.error ? 'error' : fmt(r.msgPerS),
    `${fmt(r.lossPercent, 2)}${r.lossFrom === 'summary' ? '' : '~'}`,
    fmt(r.cpuUsPerMsg, 2),
    fmt(r.serverCpuPercent),
  ]);
  return [
    '### Max-rate probe',
    '',
    `Offered ${s.probeRates.map((r) => fmt(r)).join(', ')} msg/s: ChannelData 100 B, one uclient session per 1,000 msg/s, each sending every 1 ms (\`-z 1\`) for ${s.probeSendS} s; one ramp per server, the servers alternating at each step, ending at the server's first step with ≥ ${MAX_LOSS_PERCENT}% loss in two tries. Same threads for both: coturn \`--relay-threads ${COTURN_THREADS}\`, ours-native \`--data-plane-threads ${COTURN_THREADS}\` (the cases above run our default, one worker on up to 2 CPUs). Server, uclient and echo peer share the machine's ${ctx.machine?.cpus ?? ''} CPUs, as in every case. \`~\`: the step was stopped at its bound (0.15 s per session + ${s.probeSendS + 18} s) before uclient's final report; its loss is 1 − received/sent over the whole run.`,
    '',
    markdownTable(
      [
        'server',
        'highest passing step',
        'msg/s',
        'ours/coturn (steps)',
        'CPU µs/msg',
        'server CPU %',
        'ramp ended because',
      ],
      best,
    ),
    '',
    markdownTable(['offered/s', 'server', 'msg/s', 'loss %', 'CPU µs/msg', 'server CPU %'], steps),
    '',
  ];
}
