/**
 * TLS section: relayed messages/s over TURN-over-TLS, coturn against `cloudproxy turn` with the
 * same certificate and flags, a fresh server per run, implementations alternating. The load is
 * the benchmark's own (bench/lib/tls-load.mjs: 10 TLS sessions, ChannelData of 100 bytes at a
 * paced total rate, relayed to a UDP echo peer and back, every message counted and timed), run
 * in a child process of its own. Cases: paced 10k and 20k msg/s over `rounds` rounds, the same
 * 20k load over plain TCP (TURN over TCP), then a TLS max-rate probe, one ramp of stepped rates per server that ends at its first step with ≥ 1%
 * loss in two tries.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mediansToJson } from '../lib/turn-runs.mjs';
import { markdownTable } from '../lib/report.mjs';
import { fmt, fmtRatio, medianByCase, ratio, round } from '../lib/stats.mjs';
import { freePorts } from '../lib/net.mjs';
import { processUsage } from '../lib/proc.mjs';
import { dropsBetween, runTlsLoad, udpDrops } from '../lib/tls-load.mjs';
import { MAX_LOSS_PERCENT, bestProbe, rampProbe } from '../lib/probe.mjs';
import {
  COTURN_BIN,
  COTURN_THREADS,
  PEER_BIN,
  TURN_USER,
  makePki,
  requireTools,
  startEchoPeer,
  startTurnServer,
} from '../lib/servers.mjs';

const SESSIONS = 10;
const PAYLOAD_BYTES = 100;
/** Above this share of a core (%), the load process may be what limits a run. */
const CLIENT_BOUND_PERCENT = 90;

const METRICS = [
  'msgPerS',
  'lossPercent',
  'rttAvgUs',
  'rttP99Us',
  'rttMaxUs',
  'cpuUsPerMsg',
  'serverCpuPercent',
  'rssMiB',
  'clientCpuPercent',
];

/**
 * The cases and windows of a run (quick: shorter windows, fewer probe steps). The probe starts
 * above the paced cases; `BENCH_TLS_PROCESSES` spreads the sessions over more load processes.
 */
export function tlsSettings(ctx) {
  return {
    durationS: ctx.quick ? 2 : 3,
    drainS: 1,
    processes: Number(process.env.BENCH_TLS_PROCESSES) || 1,
    paced: [
      ...[10_000, 20_000].map((rate) => ({ name: `paced ${fmt(rate)} msg/s`, rate })),
      // The same load over plain TCP: the native plane serves TCP clients in the addon.
      { name: `TCP paced ${fmt(20_000)} msg/s`, rate: 20_000, transport: 'tcp' },
    ],
    // Up to 400k: coturn and the native plane both passed 240k (the previous top step).
    probeRates: ctx.quick
      ? [40_000, 80_000]
      : Array.from({ length: 10 }, (_, i) => (i + 1) * 40_000),
  };
}

/** @type {import('../run.mjs').Section} */
export const tlsSection = {
  name: 'tls',
  title: 'TURN over TLS (and TCP): cloudproxy vs coturn',
  plan(ctx) {
    const s = tlsSettings(ctx);
    const runs = (s.paced.length * ctx.rounds + s.probeRates.length) * ctx.turnImpls.length;
    return { steps: runs, secondsEach: s.durationS + 1.2 };
  },
  async run(ctx) {
    requireTools([COTURN_BIN, PEER_BIN]);
    const s = tlsSettings(ctx);
    const { secondsEach } = this.plan(ctx);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-tls-'));
    let peer;
    const runs = [];
    const commands = {};
    const once = async (impl, name, rate, label, transport = 'tls') => {
      ctx.progress.start('tls', `${impl} ${label}`);
      const figures = await oneRun(ctx, impl, { rate, transport }, s, pki, peer);
      const run = { impl, case: name, rate, transport, ...figures };
      runs.push(run);
      if (run.serverCommand) commands[impl] ??= run.serverCommand;
      ctx.progress.finish(secondsEach, describeTlsRun(run));
      return run;
    };
    let pki;
    try {
      pki = makePki(dir);
      peer = await startEchoPeer();
      for (const { name, rate, transport } of s.paced) {
        for (let round = 1; round <= ctx.rounds; round++) {
          for (const impl of ctx.turnImpls) {
            const label = `${name} (round ${round}/${ctx.rounds})`;
            const run = await once(impl, name, rate, label, transport);
            run.round = round;
          }
        }
      }
      const { stopped } = await rampProbe(ctx, {
        rates: s.probeRates,
        secondsEach,
        step: (impl, rate, label) => once(impl, `probe ${fmt(rate)}`, rate, label),
      });
      return report(ctx, s, runs, commands, stopped);
    } finally {
      await peer?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function oneRun(ctx, impl, load, s, pki, peer) {
  let server;
  try {
    const [port, tlsPort] = await freePorts(2);
    const options = { port, tlsPort, cert: pki.cert, pkey: pki.key };
    server = await startTurnServer(impl, options, ctx.hasDataPlaneFlag);
    const target = load.transport === 'tcp' ? port : tlsPort;
    const figures = await measure(server, target, load, s, peer);
    if (figures.lossPercent > 50) figures.serverOutput = server.proc.output().slice(-2000);
    return { ...figures, serverCommand: server.command };
  } catch (err) {
    const tail = server ? `\n${server.proc.output().slice(-1500)}` : '';
    return { error: `${String(err.message ?? err)}${tail}` };
  } finally {
    await server?.stop();
  }
}

/** One load run against a started server, with its CPU, RSS and UDP drops around it. */
async function measure(server, port, { rate, transport }, s, peer) {
  const at = {};
  let rssMax = processUsage(server.pid)?.rssBytes ?? 0;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, processUsage(server.pid)?.rssBytes ?? 0);
  }, 250);
  const sample = () => ({ server: processUsage(server.pid), peer: processUsage(peer.pid) });
  let load;
  try {
    load = await runTlsLoad(
      {
        host: '127.0.0.1',
        port,
        transport,
        peer: { address: '127.0.0.1', port: peer.port },
        user: TURN_USER,
        rate,
        durationS: s.durationS,
        drainS: s.drainS,
        sessions: SESSIONS,
        processes: s.processes,
        payloadBytes: PAYLOAD_BYTES,
      },
      {
        onGo: () => ((at.go = sample()), (at.drops = udpDrops())),
        onSent: () => (at.sent = sample()),
        onDone: () => ((at.end = sample()), (at.dropsEnd = udpDrops())),
      },
    );
  } finally {
    clearInterval(sampler);
  }
  if (!at.go.server || !at.end.server || server.proc.exited()) {
    throw new Error(`${server.impl} died during the run`);
  }
  rssMax = Math.max(rssMax, at.end.server.rssBytes);
  return figuresOf(load, at, rssMax, dropsBetween(at.drops, at.dropsEnd, peer.port));
}

function figuresOf(load, at, rssMax, drops) {
  const cpuS = at.end.server.cpuS - at.go.server.cpuS;
  const windowCpuS = (at.sent?.server?.cpuS ?? at.end.server.cpuS) - at.go.server.cpuS;
  const peerCpuS = (at.end.peer?.cpuS ?? NaN) - (at.go.peer?.cpuS ?? NaN);
  return {
    offered: load.offered,
    sent: load.sent,
    received: load.received,
    msgPerS: Math.round(load.msgPerS),
    lossPercent: round(load.lossPercent, 3),
    rttAvgUs: round(load.rtt.avgUs),
    rttP50Us: round(load.rtt.p50Us),
    rttP99Us: round(load.rtt.p99Us),
    rttMaxUs: round(load.rtt.maxUs),
    serverCpuS: round(cpuS, 3),
    cpuUsPerMsg: load.received > 0 ? round((cpuS / load.received) * 1e6, 2) : undefined,
    serverCpuPercent: round((windowCpuS / load.sendingS) * 100, 1),
    rssMiB: round(rssMax / 2 ** 20, 1),
    clientCpuPercent: round(load.clientCpuPercent, 1),
    peerCpuPercent: round((peerCpuS / load.sendingS) * 100, 1),
    sendingS: round(load.sendingS, 3),
    lastReceiveS: round(load.lastReceiveS, 3),
    udpDropsAtPeer: drops.atPeer,
    udpDropsElsewhere: drops.elsewhere,
    corrupt: load.corrupt,
    framesPerRead: round(load.received / Math.max(1, load.reads), 2),
    stunOther: load.stunOther,
    sessionErrors: load.sessionErrors,
    receivedBySession: load.receivedBySession,
    maxTickGapMs: round(load.maxTickGapMs, 1),
    maxBacklogBytes: load.maxBacklogBytes,
    receivedPerS: load.receivedPerS,
  };
}

/** One progress line for a finished run. */
export function describeTlsRun(r) {
  if (r.error) return `ERROR ${r.error.split('\n')[0]}`;
  const odd = [];
  if (r.corrupt) odd.push(`${fmt(r.corrupt)} corrupt`);
  if (r.sessionErrors.length) odd.push(`session errors: ${r.sessionErrors.join('; ')}`);
  if (r.udpDropsAtPeer || r.udpDropsElsewhere) {
    odd.push(`UDP drops peer ${fmt(r.udpDropsAtPeer)} / relay ${fmt(r.udpDropsElsewhere)}`);
  }
  return (
    `${fmt(r.msgPerS)} msg/s, loss ${fmt(r.lossPercent, 2)}%, RTT ${fmt(r.rttAvgUs)}/` +
    `${fmt(r.rttP99Us)}/${fmt(r.rttMaxUs)} µs avg/p99/max, CPU ${fmt(r.cpuUsPerMsg, 1)} µs/msg ` +
    `(${fmt(r.serverCpuPercent)}% of a core), RSS ${fmt(r.rssMiB, 1)} MiB, client ` +
    `${fmt(r.clientCpuPercent)}%${odd.length ? `; ${odd.join(', ')}` : ''}`
  );
}

function pacedRows(ctx, s, medians, summary) {
  const rows = [];
  for (const { name } of s.paced) {
    const c = medians.get(name)?.get('coturn');
    const parts = [];
    for (const impl of ctx.turnImpls) {
      const m = medians.get(name)?.get(impl);
      const mine = impl === 'coturn';
      const cpuRatio = mine ? undefined : ratio(m?.cpuUsPerMsg, c?.cpuUsPerMsg);
      const rttDelta =
        mine || m?.rttAvgUs === undefined || c?.rttAvgUs === undefined
          ? ''
          : `${m.rttAvgUs >= c.rttAvgUs ? '+' : ''}${fmt(m.rttAvgUs - c.rttAvgUs)} µs`;
      rows.push([
        name,
        impl,
        fmt(m?.msgPerS),
        fmt(m?.lossPercent, 2),
        `${fmt(m?.rttAvgUs)} / ${fmt(m?.rttP99Us)} / ${fmt(m?.rttMaxUs)}`,
        rttDelta,
        fmt(m?.cpuUsPerMsg, 2),
        mine ? '' : fmtRatio(cpuRatio),
        fmt(m?.serverCpuPercent),
        fmt(m?.rssMiB, 1),
        fmt(m?.clientCpuPercent),
      ]);
      parts.push(
        `${impl} ${fmt(m?.msgPerS)} loss ${fmt(m?.lossPercent, 2)}% ${fmt(m?.cpuUsPerMsg, 2)} µs` +
          (mine ? '' : ` (${fmtRatio(cpuRatio)})`),
      );
    }
    summary.push(`tls ${name} (msg/s, loss, CPU/msg): ${parts.join(', ')}`);
  }
  return rows;
}

function probeRows(ctx, runs, stopped, summary) {
  const coturn = bestProbe(runs, 'coturn');
  const parts = [];
  const rows = ctx.turnImpls.map((impl) => {
    const best = bestProbe(runs, impl);
    const r = impl === 'coturn' ? undefined : ratio(best?.msgPerS, coturn?.msgPerS);
    parts.push(`${impl} ${fmt(best?.msgPerS)}${r === undefined ? '' : ` (${fmtRatio(r)})`}`);
    return [
      impl,
      fmt(best?.rate),
      fmt(best?.msgPerS),
      impl === 'coturn' ? '' : fmtRatio(r),
      fmt(best?.cpuUsPerMsg, 2),
      fmt(best?.serverCpuPercent),
      stopped.get(impl) ?? 'highest step passed',
    ];
  });
  summary.push(`tls max msg/s with < ${MAX_LOSS_PERCENT}% loss: ${parts.join(', ')}`);
  return rows;
}

function report(ctx, s, runs, commands, stopped) {
  const medians = medianByCase(
    runs.filter((r) => !r.probe),
    METRICS,
  );
  const summary = [];
  const paced = pacedRows(ctx, s, medians, summary);
  const probe = probeRows(ctx, runs, stopped, summary);
  const steps = runs
    .filter((r) => r.probe)
    .map((r) => [
      `${fmt(r.rate)}${r.retry ? ' (again)' : ''}`,
      r.impl,
      r.error ? 'error' : fmt(r.msgPerS),
      fmt(r.lossPercent, 2),
      `${fmt(r.rttAvgUs)} / ${fmt(r.rttP99Us)}`,
      fmt(r.cpuUsPerMsg, 2),
      fmt(r.serverCpuPercent),
      `${fmt(r.clientCpuPercent)} / ${fmt(r.maxTickGapMs)}`,
      r.error ? '' : `${fmt(r.udpDropsAtPeer)} / ${fmt(r.udpDropsElsewhere)}`,
    ]);
  const errors = runs.filter((r) => r.error);
  const lossy = runs.filter((r) => !r.probe && !r.error && r.lossPercent >= MAX_LOSS_PERCENT);
  const clientBound = runs.some((r) => (r.clientCpuPercent ?? 0) > CLIENT_BOUND_PERCENT);
  const markdown = [
    `Load: ${SESSIONS} TLS sessions (plain TCP connections to the listening port in the TCP case), each Allocate + CreatePermission + ChannelBind to a \`turnutils_peer\` UDP echo peer, then ChannelData of ${PAYLOAD_BYTES} bytes (sequence number and send time inside) at a paced total rate for ${s.durationS} s, each session's due messages in one write every 2 ms; then up to ${s.drainS} s for the last answers. The load runs in ${s.processes} child process(es) of its own (bench/lib/tls-load.mjs) and parses the TLS byte stream itself, so several ChannelData frames in one TLS record count as several messages. A fresh server per run, implementations alternating; paced cases over ${ctx.rounds} round(s), medians shown. Same certificate (EC P-256) and flags for every server: \`${commands.coturn ?? commands['ours-js'] ?? ''}\`; coturn with \`--relay-threads ${COTURN_THREADS}\`.`,
    ctx.implNote ? `\n${ctx.implNote}\n` : '',
    markdownTable(
      [
        'case',
        'server',
        'msg/s',
        'loss %',
        'RTT µs avg / p99 / max',
        'RTT vs coturn',
        'CPU µs/msg',
        'ours/coturn',
        'server CPU %',
        'RSS MiB',
        'client CPU %',
      ],
      paced,
    ),
    lossy.length
      ? `\nPaced runs with ≥ ${MAX_LOSS_PERCENT}% loss (the medians hide them): ${lossy
          .map(
            (r) =>
              `${r.impl} ${r.case} round ${r.round}: ${fmt(r.lossPercent, 2)}% (UDP drops peer ${fmt(r.udpDropsAtPeer)} / relay ${fmt(r.udpDropsElsewhere)})`,
          )
          .join('; ')}.`
      : '',
    '',
    `Max-rate probe: offered ${s.probeRates.map((r) => fmt(r)).join(', ')} msg/s, one ramp per server (${s.durationS} s per step), ending at the first step with ≥ ${MAX_LOSS_PERCENT}% loss in two tries.`,
    '',
    markdownTable(
      [
        'server',
        'highest passing step',
        'msg/s',
        'ours/coturn',
        'CPU µs/msg',
        'server CPU %',
        'ramp ended because',
      ],
      probe,
    ),
    '',
    markdownTable(
      [
        'offered/s',
        'server',
        'msg/s',
        'loss %',
        'RTT µs avg / p99',
        'CPU µs/msg',
        'server CPU %',
        'client CPU % / longest tick ms',
        'UDP drops peer / relay',
      ],
      steps,
    ),
    '',
    'msg/s: messages received back ÷ the sending window (or up to the last answer when later). Loss: offered − received. RTT: send time in the payload to the arrival of the TLS chunk carrying it (µs). CPU µs/msg: the server process’s utime+stime from `/proc/PID/stat` from the start of sending to the end of the drain, divided by the messages received back (each crossed the relay twice, TLS one way, UDP the other); server CPU % over the sending window. Client CPU %: the load process(es), in % of one core; longest tick: the longest gap between two runs of its 2-ms pacing timer (tens of ms: the load process was held up, and sent that gap’s messages in one burst). UDP drops: datagrams dropped at full receive buffers (`/proc/net/udp`), at the echo peer and at every other socket (the relay’s).',
    clientBound
      ? `\nThe load process used more than ${CLIENT_BOUND_PERCENT}% of a core in some runs: there the client, not the server, may have set the rate.`
      : '',
    errors.length
      ? `\nErrors:\n${errors.map((e) => `- ${e.impl} ${e.case}: ${e.error.split('\n')[0]}`).join('\n')}`
      : '',
  ].join('\n');
  return {
    markdown,
    json: {
      settings: s,
      medians: mediansToJson(medians),
      probe: { stopped: Object.fromEntries(stopped) },
      runs,
    },
    summary,
  };
}
