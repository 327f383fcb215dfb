/**
 * WebSocket section: echo messages/s through `cloudproxy proxy` against the same load sent
 * directly to the echo server (and, for reference, through nginx configured as the same
 * proxy), alternating runs. The load client runs in the benchmark process.
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  OTHER_CPUS,
  PINNED,
  proxyConfig,
  startListening,
  startNginx,
  startOurProxy,
} from '../lib/http-bench.mjs';
import { runWsLoad } from '../lib/ws-load.mjs';
import { markdownTable } from '../lib/report.mjs';
import { fmt, fmtRatio, median, ratio } from '../lib/stats.mjs';
import { freePorts } from '../lib/net.mjs';
import { NGINX_BIN, makePki, requireTools } from '../lib/servers.mjs';

const TARGETS = ['direct', 'ours', 'nginx'];
const LOAD = { connections: 16, window: 4, bytes: 100 };

function settings(ctx) {
  return { seconds: ctx.quick ? 2 : 4, warmupS: 0.5 };
}

/** @type {import('../run.mjs').Section} */
export const wsSection = {
  name: 'ws',
  title: 'WebSocket echo through the signaling proxy',
  plan(ctx) {
    const s = settings(ctx);
    return { steps: TARGETS.length * ctx.rounds, secondsEach: s.seconds + s.warmupS + 0.5 };
  },
  async run(ctx) {
    requireTools([NGINX_BIN]);
    const s = settings(ctx);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ws-'));
    const procs = [];
    try {
      chmodSync(dir, 0o755);
      const pki = makePki(dir);
      const ca = readFileSync(pki.ca, 'utf8');
      const [echoPort, oursPort, nginxPort] = await freePorts(3);
      const echoArgs = [path.join(import.meta.dirname, '../lib/ws-echo-server.mjs')];
      echoArgs.push(String(echoPort), pki.cert, pki.key);
      procs.push(
        await startListening('ws echo server', process.execPath, echoArgs, OTHER_CPUS, echoPort),
      );
      procs.push(await startOurProxy(dir, pki, oursPort, echoPort));
      procs.push(
        await startNginx(dir, 'proxy', proxyConfig(dir, pki, nginxPort, echoPort), '0', nginxPort),
      );
      const urls = {
        direct: `wss://127.0.0.1:${echoPort}/echo`,
        ours: `wss://127.0.0.1:${oursPort}/127.0.0.1:${echoPort}/echo`,
        nginx: `wss://127.0.0.1:${nginxPort}/127.0.0.1:${echoPort}/echo`,
      };
      const runs = [];
      const { secondsEach } = this.plan(ctx);
      for (let round = 1; round <= ctx.rounds; round++) {
        for (const target of TARGETS) {
          ctx.progress.start('ws', `${target} (round ${round}/${ctx.rounds})`);
          try {
            const r = await runWsLoad({ url: urls[target], ca, ...LOAD, ...s });
            runs.push({ target, round, ...r });
            ctx.progress.finish(
              secondsEach,
              `${fmt(r.msgPerS)} msg/s, p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms${r.errors ? `, ${r.errors} errors` : ''}`,
            );
          } catch (err) {
            runs.push({ target, round, error: String(err.message ?? err) });
            ctx.progress.finish(secondsEach, `ERROR ${String(err.message ?? err)}`);
          }
        }
      }
      return report(ctx, s, runs);
    } finally {
      for (const proc of procs.reverse()) await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function report(ctx, s, runs) {
  const medians = {};
  for (const target of TARGETS) {
    const rs = runs.filter((r) => r.target === target && !r.error);
    medians[target] = {
      msgPerS: median(rs.map((r) => r.msgPerS)),
      p50Ms: median(rs.map((r) => r.p50Ms)),
      p99Ms: median(rs.map((r) => r.p99Ms)),
    };
  }
  const rows = TARGETS.map((t) => [
    t,
    fmt(medians[t].msgPerS),
    t === 'direct' ? '' : fmtRatio(ratio(medians[t].msgPerS, medians.direct.msgPerS)),
    fmt(medians[t].p50Ms, 2),
    fmt(medians[t].p99Ms, 2),
  ]);
  const summary = [
    `ws echo msg/s: direct ${fmt(medians.direct.msgPerS)}, through ours ${fmt(medians.ours.msgPerS)} (${fmtRatio(ratio(medians.ours.msgPerS, medians.direct.msgPerS))} of direct), through nginx ${fmt(medians.nginx.msgPerS)} (${fmtRatio(ratio(medians.nginx.msgPerS, medians.direct.msgPerS))})`,
  ];
  const markdown = [
    `Load: ${LOAD.connections} WebSocket connections (wss, the \`ws\` package, no compression), each keeping ${LOAD.window} messages of ${LOAD.bytes} bytes in flight, echoed by a \`ws\` server over TLS; counted for ${s.seconds} s after ${s.warmupS} s. ${ctx.rounds} round(s), targets alternating, medians shown. ${PINNED ? 'Proxies pinned to CPU 0, the echo server to the other CPUs; the load client is unpinned.' : ''}`,
    '',
    markdownTable(['target', 'echo msg/s', 'vs direct', 'p50 ms', 'p99 ms'], rows),
    '',
    'The load client is a Node process itself: when the direct rate is client-bound, the ratio understates the proxy’s cost.',
  ].join('\n');
  return { markdown, json: { settings: { ...s, ...LOAD }, medians, runs }, summary };
}
