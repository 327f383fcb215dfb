/**
 * Sanity tests of the benchmark helpers (no timing): the /proc parsers, the median and
 * window arithmetic, the uclient report parser, the relay targets, the max-rate probe's ramp
 * and the argument parser.
 * Run: node --test bench/test/
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOpenFileLimit, parseProcStat, processUsage } from '../lib/proc.mjs';
import { bestWindow, median, medianByCase, ratio, round } from '../lib/stats.mjs';
import { parseUclientSummary, summarizeRun } from '../lib/uclient.mjs';
import { maxRateRatio, maxRateUnderLoss, relayTargets } from '../sections/relay-targets.mjs';
import { bestProbe, probeFailure, rampProbe } from '../lib/probe.mjs';
import { probeLoad } from '../sections/relay.mjs';
import { parseWrk } from '../lib/http-bench.mjs';
import { stopReason } from '../sections/alloc.mjs';
import { parseBenchArgs } from '../run.mjs';

const STAT =
  '4242 (turn server (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 ' +
  '150 75 0 0 20 0 3 0 12345 123456789 2048 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0';

test('parseProcStat reads fields after the last ")" of the command name', () => {
  const stat = parseProcStat(STAT);
  assert.equal(stat.pid, 4242);
  assert.equal(stat.state, 'S');
  assert.equal(stat.ppid, 1);
  assert.equal(stat.utimeTicks, 150);
  assert.equal(stat.stimeTicks, 75);
  assert.equal(stat.threads, 3);
  assert.equal(stat.rssPages, 2048);
});

test('parseProcStat rejects text without a command name', () => {
  assert.throws(() => parseProcStat('garbage'), /no "\)"/);
});

test('processUsage of this process is plausible, and undefined for a missing PID', () => {
  const usage = processUsage(process.pid);
  assert.ok(usage && usage.cpuS >= 0 && usage.rssBytes > 1_000_000 && usage.threads >= 1);
  assert.equal(processUsage(2 ** 30), undefined);
});

test('parseOpenFileLimit reads soft and hard limits', () => {
  const text =
    'Limit  Soft Limit  Hard Limit  Units\nMax open files            1024                 unlimited            files\n';
  assert.deepEqual(parseOpenFileLimit(text), { soft: 1024, hard: Infinity });
});

test('median, round and ratio skip missing values', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([undefined, NaN, 5]), 5);
  assert.equal(median([]), undefined);
  assert.equal(round(1.005, 1), 1);
  assert.equal(ratio(1, 0), undefined);
  assert.equal(ratio(3, 2), 1.5);
});

test('bestWindow picks the fastest window of at least the given length', () => {
  const samples = [0, 100, 300, 700, 900].map((recv, t) => ({ t, recv }));
  const w = bestWindow(samples, 2);
  assert.equal(w.rate, 300); // t=1→3: (700 − 100) / 2
  assert.equal(bestWindow([{ t: 0, recv: 0 }], 2), undefined);
});

test('medianByCase takes medians per case and implementation, skipping errors', () => {
  const runs = [
    { case: 'a', impl: 'coturn', msgPerS: 10 },
    { case: 'a', impl: 'coturn', msgPerS: 30 },
    { case: 'a', impl: 'coturn', msgPerS: 20 },
    { case: 'a', impl: 'ours-js', error: 'boom' },
  ];
  const m = medianByCase(runs, ['msgPerS']);
  assert.deepEqual(m.get('a')?.get('coturn'), { runs: 3, msgPerS: 20 });
  assert.equal(m.get('a')?.get('ours-js'), undefined);
});

test('parseUclientSummary reads totals, loss and delay', () => {
  const out = [
    '0: start_mclient: tot_send_msgs=2000, tot_recv_msgs=1990',
    '0: Total lost packets 10 (0.500000%), total send dropped 0 (0.000000%)',
    '0: Average round trip delay 0.250000 ms; min = 0 ms, max = 7 ms',
  ].join('\n');
  assert.deepEqual(parseUclientSummary(out), {
    ...{ sent: 2000, received: 1990, lost: 10, sendDropped: 0, rttAvgMs: 0.25, rttMaxMs: 7 },
  });
  assert.equal(parseUclientSummary('nothing'), undefined);
});

test('relay targets compare ours with coturn on the medians', () => {
  const cases = [{ name: 'ChannelData 100 B paced 20k/s' }, { name: 'flood' }];
  const medians = new Map([
    [
      cases[0].name,
      new Map([
        ['coturn', { msgPerS: 20_000, lossPercent: 0, cpuUsPerMsg: 4, rttAvgMs: 0.1 }],
        ['ours-js', { msgPerS: 20_000, lossPercent: 0, cpuUsPerMsg: 3, rttAvgMs: 0.15 }],
      ]),
    ],
    [
      cases[1].name,
      new Map([
        ['coturn', { msgPerS: 100_000, lossPercent: 0.5, cpuUsPerMsg: 3 }],
        ['ours-js', { msgPerS: 120_000, lossPercent: 5, cpuUsPerMsg: 3 }],
      ]),
    ],
  ]);
  assert.equal(maxRateUnderLoss(medians, cases, 'ours-js')?.msgPerS, 20_000);
  const t = relayTargets(medians, cases, ['ours-js']);
  assert.equal(t.json.cpuAt20k.ours[0].ok, true);
  assert.equal(Math.round(t.json.rttAt20k.ours[0].addedUs), 50);
  assert.equal(t.json.maxRate.ours[0].ok, false);
  assert.equal(t.summary.length, 3);
});

test('the max-rate ramp retries a failed step once and ends a server at its second failure', async () => {
  // coturn loses at 3 (twice); ours fails 3 once on a hiccup, then passes 3 and fails 4 twice.
  const outcomes = {
    coturn: { 1: [0], 2: [0.5], 3: [2, 1.5] },
    ours: { 1: [0], 2: [0], 3: [5, 0], 4: [3, 3] },
  };
  const planned = { added: 0, dropped: 0 };
  const ctx = {
    turnImpls: ['coturn', 'ours'],
    progress: { plan: () => planned.added++, drop: () => planned.dropped++ },
  };
  const calls = [];
  const { runs, stopped } = await rampProbe(ctx, {
    rates: [1, 2, 3, 4],
    secondsEach: 1,
    step: async (impl, rate, label) => {
      calls.push(`${impl} ${label}`);
      const lossPercent = outcomes[impl][rate].shift();
      return { impl, rate, case: `step ${rate}`, msgPerS: rate * 1000 - 10, lossPercent };
    },
  });
  assert.deepEqual(
    calls.map((c) => c.replace(/ \(.*\)$/, '')),
    [
      'coturn max-rate probe 1',
      'ours max-rate probe 1',
      'coturn max-rate probe 2',
      'ours max-rate probe 2',
      'coturn max-rate probe 3',
      'coturn max-rate probe 3 again',
      'ours max-rate probe 3',
      'ours max-rate probe 3 again',
      'ours max-rate probe 4',
      'ours max-rate probe 4 again',
    ],
  );
  assert.deepEqual(planned, { added: 3, dropped: 1 });
  assert.deepEqual(Object.fromEntries(stopped), { coturn: '1.50% loss', ours: '3.00% loss' });
  assert.equal(runs.filter((r) => r.retry).length, 3);
  assert.equal(bestProbe(runs, 'coturn').rate, 2);
  assert.equal(bestProbe(runs, 'ours').rate, 3);
  assert.match(probeFailure({ error: 'boom\nstack' }), /^error: boom$/);

  // The target compares the passing steps: 3 against 2 is 1.5×, whatever each delivered.
  const medians = new Map([['paced', new Map([['coturn', { msgPerS: 900, lossPercent: 0 }]])]]);
  const cases = [{ name: 'paced', offered: 1000 }];
  const coturn = maxRateUnderLoss(medians, cases, 'coturn', runs);
  const ours = maxRateUnderLoss(medians, cases, 'ours', runs);
  assert.deepEqual(coturn, { msgPerS: 1990, offered: 2, case: 'probe: step 2' });
  assert.equal(maxRateRatio(ours, coturn), 1.5);
  // Without a probe, the cases decide, and a flooding case compares the msg/s delivered.
  assert.equal(maxRateUnderLoss(medians, cases, 'coturn').offered, 1000);
  assert.equal(maxRateRatio({ msgPerS: 95 }, { msgPerS: 100, offered: 1000 }), 0.95);
});

test('a run stopped before uclient reports: a paced one loses over the whole run, a flood over its best window', () => {
  // 10 s of sending: 1% lost in the first seconds, none in the best window, then the end.
  const samples = [
    { t: 1, sent: 0, recv: 0, cpu: 0 },
    { t: 2, sent: 100_000, recv: 98_000, cpu: 0.5 },
    { t: 3, sent: 200_000, recv: 198_000, cpu: 1 },
    { t: 4, sent: 300_000, recv: 298_000, cpu: 1.5 },
    { t: 5, sent: 300_000, recv: 298_000, cpu: 1.5 },
  ];
  const run = {
    exit: { code: null, signal: 'SIGKILL' },
    ...{ elapsedS: 6, cpuS: 1.5, rssMaxBytes: 2 ** 20, windowS: 2, command: 'uclient' },
  };
  const paced = summarizeRun('', samples, { ...run, unpaced: false });
  assert.equal(paced.lossFrom, 'run');
  assert.equal(paced.lossPercent, 0.667);
  assert.equal(paced.cutAtBound, true);
  const flood = summarizeRun('', samples, { ...run, unpaced: true });
  assert.equal(flood.lossFrom, 'window');
  assert.equal(flood.lossPercent, 0);
  assert.equal(flood.msgPerS, 100_000);
});

test('a probe step of the relay is one uclient session per 1,000 msg/s, each every 1 ms', () => {
  const load = probeLoad(160_000, 7);
  assert.equal(load.clients, 160);
  assert.equal(load.intervalMs, 1);
  assert.equal(load.messages, 7000);
  assert.equal(load.probe, true);
  assert.match(load.name, /paced 160k\/s \(160 sessions\)/);
});

test('parseWrk converts latency units to ms', () => {
  const text =
    '  Latency Distribution\n     50%  550.00us\n     99%    1.41ms\nRequests/sec:  54057.12\n';
  assert.deepEqual(parseWrk(text), {
    rps: 54057.12,
    p50Ms: 0.55,
    p99Ms: 1.41,
    non2xx: 0,
    socketErrors: null,
  });
});

test('the allocation ramp stops on failures, saturation or the file limit', () => {
  const ok = { offeredPerS: 1000, stepS: 2, count: 2000, achievedPerS: 990, failedPercent: 0 };
  assert.equal(stopReason(ok), undefined);
  assert.match(stopReason({ ...ok, failedPercent: 2 }), /failed/);
  assert.match(stopReason({ ...ok, achievedPerS: 500 }), /90%/);
  assert.match(stopReason({ ...ok, count: 1000 }), /open-file/);
});

test('parseBenchArgs: sections, quick defaults and errors', () => {
  const quick = parseBenchArgs(['relay', 'ws', '--rounds', '2'], { BENCH_QUICK: '1' });
  assert.deepEqual(quick.sections, ['relay', 'ws']);
  assert.equal(quick.quick, true);
  assert.equal(quick.rounds, 2);
  const full = parseBenchArgs([], {});
  assert.equal(full.rounds, 3);
  assert.deepEqual(full.sections, ['relay', 'alloc', 'scale', 'tls', 'proxy', 'ws']);
  assert.throws(() => parseBenchArgs(['nope'], {}), /unknown argument nope/);
  assert.throws(() => parseBenchArgs(['--levels', 'x'], {}), /--levels/);
});
