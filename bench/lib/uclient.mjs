/**
 * Runs coturn's `turnutils_uclient` against a TURN server and turns its output into figures:
 * relayed messages/s over the best window, loss, round-trip delay, and the server's CPU time
 * per message and peak RSS sampled from /proc at every progress line.
 *
 * How uclient behaves (coturn 4.6) and how this copes:
 * - every session starts sending 1–6 s (random) after allocating, so the load ramps up: the
 *   rate is the best `windowS` window of its once-a-second progress lines;
 * - `-z MS` paces each session (one message every MS ms); `-z 0` floods without end, so an
 *   unpaced run is stopped once every session runs and one window has passed;
 * - after its last message a session waits for the rest, up to 10 s (a lossy paced run takes
 *   longer, and a run still going at the bound is killed: its loss is 1 − received/sent over
 *   the whole run, from its last progress line);
 * - connecting its sessions takes about 0.1 s per session (23–28 s for 220, either server);
 * - its delay has 1-ms resolution (loopback averages are fractions of a ms).
 * @module
 */
import { performance } from 'node:perf_hooks';
import { startProcess } from './proc.mjs';
import { processUsage } from './proc.mjs';
import { bestWindow, round } from './stats.mjs';
import { UCLIENT_BIN, TURN_USER } from './servers.mjs';

const PROGRESS = /start_mclient: msz=(\d+), tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/;
/** uclient starts every session's traffic 1 + random() % 5000 ms after the allocations. */
const LAST_START_S = 6;

/** The totals of uclient's final report, or undefined when it was stopped before it. */
export function parseUclientSummary(output) {
  const counts = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(output);
  const lost = /Total lost packets (\d+) \(([^%]+)%\), total send dropped (\d+)/.exec(output);
  const rtt = /Average round trip delay ([\d.]+) ms; min = (\d+) ms, max = (\d+) ms/.exec(output);
  if (!counts || !lost) return undefined;
  return {
    sent: Number(counts[1]),
    received: Number(counts[2]),
    lost: Number(lost[1]),
    sendDropped: Number(lost[3]),
    rttAvgMs: rtt ? Number(rtt[1]) : undefined,
    rttMaxMs: rtt ? Number(rtt[3]) : undefined,
  };
}

/** The uclient arguments of one load case against `port`. */
export function uclientArgs(load, port, peerPort) {
  const args = ['-c', '-m', String(load.clients), '-n', String(load.messages)];
  args.push('-l', String(load.size), '-z', String(load.intervalMs));
  if (load.send) args.push('-s');
  if (load.tls) args.push('-t', '-S');
  args.push('-u', TURN_USER.name, '-w', TURN_USER.password, '-p', String(port));
  args.push('-e', '127.0.0.1', '-r', String(peerPort), '127.0.0.1');
  return args;
}

/**
 * One uclient run against `server` (`{ port, pid, proc }`) relaying to the echo peer.
 * @param {{ clients: number, size: number, intervalMs: number, messages: number,
 *   send?: boolean, tls?: boolean }} load
 * @param {{ port: number }} peer
 * @param {{ windowS: number, timeoutS: number }} bounds
 */
export async function runUclient(server, load, peer, bounds) {
  const args = uclientArgs(load, load.tls ? server.tlsPort : server.port, peer.port);
  const samples = [];
  const t0 = performance.now();
  const start = processUsage(server.pid);
  if (!start) throw new Error(`${server.impl} server is gone before the run`);
  let rssMax = start.rssBytes;
  let connectedAt;
  const unpaced = load.intervalMs === 0;
  const uclient = startProcess(UCLIENT_BIN, args, {
    onLine: (line) => {
      const t = (performance.now() - t0) / 1000;
      if (connectedAt === undefined && line.includes('Total connect time')) connectedAt = t;
      const m = PROGRESS.exec(line);
      if (!m) return;
      const usage = processUsage(server.pid);
      if (usage) rssMax = Math.max(rssMax, usage.rssBytes);
      const cpu = usage ? usage.cpuS - start.cpuS : NaN;
      samples.push({ t, sent: Number(m[2]), recv: Number(m[3]), cpu });
      const stopAt = (connectedAt ?? Infinity) + LAST_START_S + bounds.windowS + 1.2;
      if (unpaced && t >= stopAt) uclient.child.kill('SIGKILL');
    },
  });
  const timer = setTimeout(() => uclient.child.kill('SIGKILL'), bounds.timeoutS * 1000);
  const exit = await uclient.done;
  clearTimeout(timer);
  const elapsedS = (performance.now() - t0) / 1000;
  const end = processUsage(server.pid);
  if (!end || server.proc.exited()) {
    throw new Error(`${server.impl} died during the run:\n${server.proc.output().slice(-3000)}`);
  }
  rssMax = Math.max(rssMax, end.rssBytes);
  return summarizeRun(uclient.output(), samples, {
    exit,
    elapsedS,
    cpuS: end.cpuS - start.cpuS,
    rssMaxBytes: rssMax,
    unpaced,
    windowS: bounds.windowS,
    connectedAt,
    command: [UCLIENT_BIN, ...args].join(' '),
  });
}

/** The figures of one run from uclient's output, its progress samples and the server usage. */
export function summarizeRun(output, samples, run) {
  const summary = parseUclientSummary(output);
  const killed = run.exit.signal === 'SIGKILL';
  if (!summary && !samples.length) {
    throw new Error(
      `uclient produced nothing (exit ${JSON.stringify(run.exit)}):\n${output.slice(-2000)}`,
    );
  }
  const window = bestWindow(samples, run.windowS);
  const last = samples[samples.length - 1];
  const received = summary?.received ?? last?.recv ?? 0;
  const sent = summary?.sent ?? last?.sent ?? 0;
  const windowSent = window ? window.to.sent - window.from.sent : 0;
  const windowRecv = window ? window.to.recv - window.from.recv : 0;
  const lossOf = (recv, sent) => Math.max(0, 1 - recv / Math.max(1, sent)) * 100;
  // A paced run stopped at its bound has sent (nearly) everything: its loss is the whole run's.
  // A flooding run is stopped while it sends: the loss of its best window.
  const cut = killed && !run.unpaced && last;
  const lossFrom = summary ? 'summary' : cut ? 'run' : 'window';
  return {
    completed: Boolean(summary) && !killed,
    cutAtBound: killed && !run.unpaced,
    elapsedS: round(run.elapsedS, 2),
    connectS: round(run.connectedAt, 2),
    sent,
    received,
    msgPerS: window ? Math.round(window.rate) : Math.round(received / run.elapsedS),
    windowS: round(window?.dt, 2),
    lossPercent: round(
      summary
        ? (summary.lost / Math.max(1, summary.sent)) * 100
        : cut
          ? lossOf(last.recv, last.sent)
          : lossOf(windowRecv, windowSent),
      3,
    ),
    lossFrom,
    rttAvgMs: summary?.rttAvgMs,
    rttMaxMs: summary?.rttMaxMs,
    serverCpuS: round(run.cpuS, 3),
    cpuUsPerMsg: received > 0 ? round((run.cpuS / received) * 1e6, 2) : undefined,
    serverCpuPercent: window
      ? round(((window.to.cpu - window.from.cpu) / window.dt) * 100, 1)
      : undefined,
    rssMiB: round(run.rssMaxBytes / 2 ** 20, 1),
    command: run.command,
  };
}
