// The report of the soak test (soak.mjs): the flatness and loss checks, and the Markdown and
// JSON files.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function snapshot({ failures, failureCounts, ...numbers }) {
  return failures === undefined || failureCounts === undefined ? numbers : numbers;
}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const average = (values) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Flatness: the last quarter of the samples after warm-up against the first quarter. */
function flatness(samples, key) {
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const first = average(samples.slice(0, quarter).map((s) => s[key]));
  const last = average(samples.slice(-quarter).map((s) => s[key]));
  return { first, last, growthPct: ((last - first) / first) * 100, growth: last - first };
}

/** Checks the run, writes `<name>.json` and `<name>.md` to `cfg.outDir`, returns the result. */
export function writeReport(cfg, data) {
  const { counters, samples, rtts, rampMs, lost, baseline, held, released } = data;
  const steady = samples.filter((s) => s.phase === 'hold' && s.atMs >= rampMs + cfg.warmupMs);
  const rss = flatness(steady, 'rssBytes');
  const heap = flatness(steady, 'heapUsedBytes');
  const fds = flatness(steady, 'fds');
  const lagP99 = steady.map((s) => s.lagP99Ms).filter(Number.isFinite);
  const checks = {
    allAllocated: counters.allocated === cfg.allocations,
    noRefreshFailed: counters.refreshFailures === 0 && counters.channelRefreshFailures === 0,
    refreshedEveryAllocation:
      counters.refreshes >= ((cfg.allocations * cfg.seconds * 1000) / cfg.refreshMs) * 0.9,
    noEchoLost: lost === 0 && counters.echoesReturned === counters.echoesSent,
    allDeleted: counters.deleted === counters.allocated,
    enoughSamples: steady.length >= 4,
    rssFlat: rss.growthPct <= cfg.memoryTolerancePct,
    heapFlat: heap.growthPct <= cfg.memoryTolerancePct,
    fdsFlat: fds.growth <= cfg.fdTolerance,
    fdsReleased: released.fds <= baseline.fds + cfg.fdTolerance,
  };
  const result = {
    name: cfg.name,
    date: new Date().toISOString(),
    node: process.version,
    settings: { ...cfg, outDir: undefined },
    passed: Object.values(checks).every(Boolean),
    checks,
    rampUpMs: rampMs,
    counters: { ...snapshot(counters), echoesLost: lost },
    failures: counters.failures,
    failureCounts: counters.failureCounts,
    echoRttMs: {
      p50: percentile(rtts, 50),
      p99: percentile(rtts, 99),
      max: percentile(rtts, 100),
    },
    server: {
      baseline,
      endOfHold: held,
      released,
      rss,
      heap,
      fds,
      lagP99Ms: { avg: average(lagP99), max: Math.max(...lagP99) },
    },
    samples,
  };
  mkdirSync(cfg.outDir, { recursive: true });
  writeFileSync(path.join(cfg.outDir, `${cfg.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(cfg.outDir, `${cfg.name}.md`), markdown(cfg, result));
  return result;
}

const mib = (bytes) => (bytes / 1048576).toFixed(1);
const ms = (value) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');

function markdown(cfg, r) {
  const s = r.server;
  const c = r.counters;
  const lines = [
    `# Soak: ${cfg.allocations} allocations held ${(cfg.seconds / 60).toFixed(1)} min`,
    '',
    `${r.date}, Node ${r.node}, \`cloudproxy turn\` over UDP on loopback. Result: **${r.passed ? 'passed' : 'FAILED'}**.`,
    '',
    `Each allocation has its own UDP socket (${cfg.perIp} per loopback source address) and is refreshed every ${cfg.refreshMs / 1000} s (staggered);`,
    `${cfg.sample} of them hold a channel to a UDP echo peer and send one 64-byte ChannelData every`,
    `${cfg.echoMs} ms. The server is sampled every ${cfg.sampleEveryMs / 1000} s; the flatness checks compare the`,
    `last quarter of the samples taken after ${cfg.warmupMs / 1000} s of warm-up with the first quarter.`,
    '',
    '| figure | value |',
    '| --- | --- |',
    `| allocations made / failed | ${c.allocated} / ${c.allocateFailures} (ramp-up ${(r.rampUpMs / 1000).toFixed(1)} s) |`,
    `| refreshes ok / failed | ${c.refreshes} / ${c.refreshFailures} |`,
    `| channel refreshes ok / failed | ${c.channelRefreshes} / ${c.channelRefreshFailures} |`,
    `| echoes sent / returned / lost | ${c.echoesSent} / ${c.echoesReturned} / ${c.echoesLost} |`,
    `| echo round trip p50 / p99 / max | ${ms(r.echoRttMs.p50)} / ${ms(r.echoRttMs.p99)} / ${ms(r.echoRttMs.max)} ms |`,
    `| allocations deleted / failed | ${c.deleted} / ${c.deleteFailures} |`,
    `| RSS before / first quarter / last quarter / after release | ${mib(s.baseline.rssBytes)} / ${mib(s.rss.first)} / ${mib(s.rss.last)} / ${mib(s.released.rssBytes)} MiB (${s.rss.growthPct.toFixed(1)} %) |`,
    `| V8 heap used first / last quarter | ${mib(s.heap.first)} / ${mib(s.heap.last)} MiB (${s.heap.growthPct.toFixed(1)} %) |`,
    `| open fds before / first quarter / last quarter / after release | ${s.baseline.fds} / ${s.fds.first.toFixed(0)} / ${s.fds.last.toFixed(0)} / ${s.released.fds} |`,
    `| event-loop lag p99 avg / max | ${ms(s.lagP99Ms.avg)} / ${ms(s.lagP99Ms.max)} ms |`,
    '',
    '| check | result |',
    '| --- | --- |',
    ...Object.entries(r.checks).map(([k, v]) => `| ${k} | ${v ? 'ok' : 'FAILED'} |`),
    '',
  ];
  if (r.failures.length) {
    const counts = Object.entries(r.failureCounts).map(([k, n]) => `- ${k}: ${n}`);
    lines.push('Failures by kind:', '', ...counts, '', 'First failures of each kind:', '');
    lines.push(...r.failures.map((f) => `- ${f}`), '');
  }
  lines.push(
    `Command: \`SOAK_SECONDS=${cfg.seconds} SOAK_ALLOCATIONS=${cfg.allocations} SOAK_SAMPLE=${cfg.sample} SOAK_REFRESH_S=${cfg.refreshMs / 1000} SOAK_PER_IP=${cfg.perIp} npm run soak\``,
    '',
  );
  return lines.join('\n');
}
