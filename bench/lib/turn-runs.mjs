/**
 * Alternating uclient runs against every TURN implementation: for each load case and round,
 * coturn, ours-js and ours-native one after the other, each against a freshly started server,
 * so that drift of a shared machine hits all of them alike.
 * @module
 */
import { runUclient } from './uclient.mjs';
import { rampProbe } from './probe.mjs';
import { fmt } from './stats.mjs';
import { startEchoPeer, startTurnServer } from './servers.mjs';

/**
 * Runs every case × round × implementation, then the max-rate probe when `how.probe` is set
 * (one ramp per implementation, see probe.mjs); returns the runs (failed ones carry `error`,
 * probe steps `probe`), the first server command line of each implementation and why each
 * probe ramp ended.
 * @param {object} ctx the suite context (rounds, turnImpls, hasDataPlaneFlag, progress)
 * @param {string} section the section name for the progress line
 * @param {object[]} loads uclient load cases (see uclient.mjs)
 * @param {{ windowS: number, timeoutS: (load: object) => number,
 *   server: () => Promise<object> | object, secondsEach: number }} how
 */
export async function alternatingRuns(ctx, section, loads, how) {
  const peer = await startEchoPeer();
  const runs = [];
  const commands = {};
  const once = async (impl, load, label, secondsEach, extra) => {
    ctx.progress.start(section, `${impl} ${label}`);
    const run = { impl, case: load.name, ...extra, ...(await oneRun(ctx, impl, load, peer, how)) };
    runs.push(run);
    if (run.serverCommand) commands[impl] ??= run.serverCommand;
    ctx.progress.finish(secondsEach, describeRun(run));
    return run;
  };
  let stopped = new Map();
  try {
    for (const load of loads) {
      for (let round = 1; round <= ctx.rounds; round++) {
        for (const impl of ctx.turnImpls) {
          const label = `${load.name} (round ${round}/${ctx.rounds})`;
          await once(impl, load, label, how.secondsEach, { round });
        }
      }
    }
    if (how.probe) {
      const { rates, load, secondsEach } = how.probe;
      ({ stopped } = await rampProbe(ctx, {
        rates,
        secondsEach,
        step: (impl, rate, label) => once(impl, load(rate), label, secondsEach, { rate }),
      }));
    }
  } finally {
    await peer.stop();
  }
  return { runs, commands, stopped };
}

async function oneRun(ctx, impl, load, peer, how) {
  try {
    const options = await how.server(load);
    const server = await startTurnServer(impl, options, ctx.hasDataPlaneFlag);
    server.tlsPort = options.tlsPort;
    try {
      const bounds = { windowS: how.windowS, timeoutS: how.timeoutS(load) };
      const figures = await runUclient(server, load, peer, bounds);
      return { ...figures, serverCommand: server.command };
    } finally {
      await server.stop();
    }
  } catch (err) {
    return { error: String(err.message ?? err) };
  }
}

/** One progress line for a finished run. */
export function describeRun(r) {
  if (r.error) return `ERROR ${r.error.split('\n')[0]}`;
  const loss = `${fmt(r.lossPercent, 2)}%${r.lossFrom === 'summary' ? '' : '~'}`;
  const rtt = r.rttAvgMs === undefined ? '—' : `${fmt(r.rttAvgMs, 2)}/${fmt(r.rttMaxMs)} ms`;
  return (
    `${fmt(r.msgPerS)} msg/s, loss ${loss}, RTT ${rtt}, CPU ${fmt(r.cpuUsPerMsg, 1)} µs/msg ` +
    `(${fmt(r.serverCpuPercent)}% of a core), RSS ${fmt(r.rssMiB, 1)} MiB, ${fmt(r.elapsedS, 1)} s` +
    (r.cutAtBound ? ', cut at the bound' : '')
  );
}

/** Converts the nested Maps of medianByCase into plain objects for JSON. */
export function mediansToJson(medians) {
  return Object.fromEntries([...medians].map(([k, v]) => [k, Object.fromEntries(v)]));
}
