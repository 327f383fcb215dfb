/**
 * Proxy section: wrk through `cloudproxy proxy` and through nginx configured as the same TLS
 * reverse proxy, both in front of one nginx upstream, small GETs and 64 KiB POSTs, alternating
 * runs. Both proxies are pinned to CPU 0 (nginx with one worker; Node is one event loop), wrk
 * and the upstream to the other CPUs.
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  OTHER_CPUS,
  PINNED,
  proxyConfig,
  runWrk,
  startNginx,
  startOurProxy,
  upstreamConfig,
} from '../lib/http-bench.mjs';
import { markdownTable } from '../lib/report.mjs';
import { fmt, fmtRatio, median, ratio } from '../lib/stats.mjs';
import { freePorts } from '../lib/net.mjs';
import { NGINX_BIN, WRK_BIN, makePki, requireTools } from '../lib/servers.mjs';

const POST_BYTES = 64 * 1024;
const CONNECTIONS = 32;
const IMPLS = ['ours', 'nginx'];
/**
 * Cores per proxy (BENCH_PROXY_WORKERS, default 1): nginx with that many worker processes, ours
 * with `--workers` as many, both pinned to CPUs 0..N-1; wrk and the upstream on the remaining
 * CPUs, or on all of them when none remain.
 */
const WORKERS = Number(process.env.BENCH_PROXY_WORKERS ?? 1);
const CPU_COUNT = os.availableParallelism();
const PROXY_CPUS = WORKERS === 1 ? '0' : `0-${Math.min(WORKERS, CPU_COUNT) - 1}`;
const LOAD_CPUS =
  WORKERS < CPU_COUNT ? OTHER_CPUS.replace(/^1-/, `${WORKERS}-`) : `0-${CPU_COUNT - 1}`;

function settings(ctx) {
  return {
    seconds: ctx.quick ? 3 : 5,
    warmupS: 1,
    cases: ['GET small', `POST ${POST_BYTES / 1024} KiB`],
  };
}

/** @type {import('../run.mjs').Section} */
export const proxySection = {
  name: 'proxy',
  title: 'Signaling proxy: cloudproxy vs nginx',
  plan(ctx) {
    const s = settings(ctx);
    return {
      steps: s.cases.length * ctx.rounds * 2,
      secondsEach: s.seconds + 0.5 + 2 / ctx.rounds,
    };
  },
  async run(ctx) {
    requireTools([NGINX_BIN, WRK_BIN]);
    const s = settings(ctx);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-proxy-'));
    const procs = [];
    try {
      chmodSync(dir, 0o755);
      const pki = makePki(dir);
      const [upstreamPort, internalPort, nginxPort, oursPort] = await freePorts(4);
      const upstream = upstreamConfig(dir, pki, upstreamPort, internalPort);
      procs.push(await startNginx(dir, 'upstream', upstream, LOAD_CPUS, upstreamPort));
      const proxy = proxyConfig(dir, pki, nginxPort, upstreamPort, WORKERS);
      procs.push(await startNginx(dir, 'proxy', proxy, PROXY_CPUS, nginxPort));
      procs.push(await startOurProxy(dir, pki, oursPort, upstreamPort, WORKERS, PROXY_CPUS));
      const post = path.join(dir, 'post.lua');
      writeFileSync(
        post,
        `wrk.method = "POST"\nwrk.body = string.rep("a", ${POST_BYTES})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`,
      );
      const base = {
        ours: `https://127.0.0.1:${oursPort}/127.0.0.1:${upstreamPort}`,
        nginx: `https://127.0.0.1:${nginxPort}/127.0.0.1:${upstreamPort}`,
      };
      const cases = [
        { name: s.cases[0], path: '/small', script: undefined },
        { name: s.cases[1], path: '/upload', script: post },
      ];
      const runs = [];
      const { secondsEach } = this.plan(ctx);
      for (const c of cases) {
        for (const impl of IMPLS)
          runWrk(`${base[impl]}${c.path}`, s.warmupS, CONNECTIONS, c.script, LOAD_CPUS);
        for (let round = 1; round <= ctx.rounds; round++) {
          for (const impl of round % 2 ? IMPLS : [...IMPLS].reverse()) {
            ctx.progress.start('proxy', `${impl} ${c.name} (round ${round}/${ctx.rounds})`);
            const r = runWrk(`${base[impl]}${c.path}`, s.seconds, CONNECTIONS, c.script, LOAD_CPUS);
            runs.push({ case: c.name, round, impl, ...r });
            ctx.progress.finish(
              secondsEach,
              `${fmt(r.rps)} req/s, p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}${r.socketErrors ? `, socket errors ${r.socketErrors}` : ''}`,
            );
          }
        }
      }
      return report(ctx, s, cases, runs);
    } finally {
      for (const proc of procs.reverse()) await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function report(ctx, s, cases, runs) {
  const pick = (name, impl) => {
    const rs = runs.filter((r) => r.case === name && r.impl === impl);
    return {
      rps: median(rs.map((r) => r.rps)),
      p50Ms: median(rs.map((r) => r.p50Ms)),
      p99Ms: median(rs.map((r) => r.p99Ms)),
      non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
    };
  };
  const rows = [];
  const summary = [];
  const medians = {};
  for (const c of cases) {
    const o = pick(c.name, 'ours');
    const n = pick(c.name, 'nginx');
    const rpsRatio = ratio(o.rps, n.rps);
    const p99Ratio = ratio(o.p99Ms, n.p99Ms);
    medians[c.name] = { ours: o, nginx: n, rpsRatio, p99Ratio };
    const met =
      c.name === 'GET small' ? (rpsRatio ?? 0) >= 1 && (p99Ratio ?? Infinity) <= 2 : undefined;
    rows.push([
      c.name,
      fmt(o.rps),
      fmt(n.rps),
      fmtRatio(rpsRatio),
      `${fmt(o.p50Ms, 2)} / ${fmt(n.p50Ms, 2)}`,
      `${fmt(o.p99Ms, 2)} / ${fmt(n.p99Ms, 2)}`,
      fmtRatio(p99Ratio),
      met === undefined ? '' : met ? 'yes' : 'no',
    ]);
    summary.push(
      `proxy ${c.name}: ours ${fmt(o.rps)} req/s vs nginx ${fmt(n.rps)} (${fmtRatio(rpsRatio)}), p99 ${fmt(o.p99Ms, 2)} vs ${fmt(n.p99Ms, 2)} ms (${fmtRatio(p99Ratio)})`,
    );
  }
  const markdown = [
    `wrk -t1 -c${CONNECTIONS} -d${s.seconds}s through each proxy to an nginx upstream answering from memory over TLS; ${ctx.rounds} round(s) per case, order alternating, after a ${s.warmupS}-s warm-up each; medians shown. ${PINNED ? `Both proxies pinned to CPU ${PROXY_CPUS} (nginx with ${WORKERS} worker process(es), ours with --workers ${WORKERS}), wrk and the upstream to CPU ${LOAD_CPUS}.` : 'Not pinned (no taskset or one CPU).'} Both verify the upstream certificate, pool keep-alive upstream connections, stream bodies, set X-Forwarded-* and write an access log line per request.`,
    '',
    markdownTable(
      [
        'case',
        'ours req/s',
        'nginx req/s',
        'ours/nginx',
        'p50 ms ours / nginx',
        'p99 ms ours / nginx',
        'p99 ratio',
        'target met (≥ 1.0× req/s, p99 ≤ 2×)',
      ],
      rows,
    ),
    '',
    '### Runs',
    '',
    markdownTable(
      ['case', 'round', 'proxy', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'socket errors'],
      runs.map((r) => [
        r.case,
        String(r.round),
        r.impl,
        fmt(r.rps),
        fmt(r.p50Ms, 2),
        fmt(r.p99Ms, 2),
        String(r.non2xx),
        r.socketErrors ?? '',
      ]),
    ),
  ].join('\n');
  return {
    markdown,
    json: {
      settings: {
        ...s,
        connections: CONNECTIONS,
        pinned: PINNED,
        workers: WORKERS,
        proxyCpus: PROXY_CPUS,
        loadCpus: LOAD_CPUS,
      },
      medians,
      runs,
    },
    summary,
  };
}
