/**
 * TLS section: relayed messages/s over TURN-over-TLS (`turnutils_uclient -t -S`, ChannelData to
 * a UDP echo peer), coturn against `cloudproxy turn` with the same certificate and flags,
 * alternating runs.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alternatingRuns, mediansToJson } from '../lib/turn-runs.mjs';
import { markdownTable } from '../lib/report.mjs';
import { fmt, fmtRatio, medianByCase, ratio } from '../lib/stats.mjs';
import { freePorts } from '../lib/net.mjs';
import {
  COTURN_BIN,
  COTURN_THREADS,
  PEER_BIN,
  UCLIENT_BIN,
  makePki,
  requireTools,
} from '../lib/servers.mjs';

const METRICS = ['msgPerS', 'cpuUsPerMsg', 'serverCpuPercent', 'rssMiB'];

function loads() {
  const unpaced = (clients) => ({
    name: `TLS ChannelData 100 B unpaced ${clients} clients`,
    ...{ tls: true, send: false, size: 100, clients, intervalMs: 0, messages: 10_000_000 },
  });
  return [unpaced(10)];
}

/** @type {import('../run.mjs').Section} */
export const tlsSection = {
  name: 'tls',
  title: 'TURN over TLS: cloudproxy vs coturn',
  plan(ctx) {
    return { steps: loads().length * ctx.rounds * ctx.turnImpls.length, secondsEach: 11 };
  },
  async run(ctx) {
    requireTools([COTURN_BIN, UCLIENT_BIN, PEER_BIN]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-tls-'));
    try {
      const pki = makePki(dir);
      const cases = loads();
      const { runs, commands } = await alternatingRuns(ctx, 'tls', cases, {
        windowS: 2,
        timeoutS: () => 25,
        server: async () => {
          const [port, tlsPort] = await freePorts(2);
          return { port, tlsPort, cert: pki.cert, pkey: pki.key };
        },
        secondsEach: this.plan(ctx).secondsEach,
      });
      return report(ctx, cases, runs, commands);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function report(ctx, cases, runs, commands) {
  const medians = medianByCase(runs, METRICS);
  const rows = [];
  const summary = [];
  for (const load of cases) {
    const c = medians.get(load.name)?.get('coturn');
    const parts = [];
    for (const impl of ctx.turnImpls) {
      const m = medians.get(load.name)?.get(impl);
      const r = impl === 'coturn' ? undefined : ratio(m?.msgPerS, c?.msgPerS);
      rows.push([
        load.name,
        impl,
        fmt(m?.msgPerS),
        impl === 'coturn' ? '' : fmtRatio(r),
        fmt(m?.cpuUsPerMsg, 2),
        fmt(m?.serverCpuPercent),
        fmt(m?.rssMiB, 1),
      ]);
      parts.push(`${impl} ${fmt(m?.msgPerS)}${r === undefined ? '' : ` (${fmtRatio(r)})`}`);
    }
    summary.push(`tls ${load.name} msg/s: ${parts.join(', ')}`);
  }
  const errors = runs.filter((r) => r.error);
  const markdown = [
    `Load: \`turnutils_uclient -t -S\` (TURN over TLS, ChannelData, 100-byte messages, \`-z 0\`) relaying to a \`turnutils_peer\` UDP echo peer; stopped 9.2 s after the allocations; rate = best 2-s window. ${ctx.rounds} round(s), implementations alternating, medians shown. Same certificate (EC P-256) and flags for both servers: \`${commands.coturn ?? commands['ours-js'] ?? ''}\`; coturn with \`--relay-threads ${COTURN_THREADS}\`.`,
    ctx.implNote ? `\n${ctx.implNote}\n` : '',
    markdownTable(
      ['case', 'server', 'msg/s', 'ours/coturn', 'CPU µs/msg', 'server CPU %', 'RSS MiB'],
      rows,
    ),
    '',
    'CPU µs/msg: the server process’s utime+stime from `/proc/PID/stat` over the run divided by the messages received back (each crossed the relay twice, TLS one way, UDP the other).',
    errors.length
      ? `\nErrors:\n${errors.map((e) => `- ${e.impl} ${e.case}: ${e.error.split('\n')[0]}`).join('\n')}`
      : '',
  ].join('\n');
  return { markdown, json: { cases, medians: mediansToJson(medians), runs }, summary };
}
