#!/usr/bin/env node
/**
 * The benchmark suite behind `npm run bench`: cloudproxy against coturn (relay, allocation
 * rate, idle-allocation scale, TLS) and against nginx (signaling proxy, WebSocket), one section
 * after the other, with a progress line per step, Markdown and JSON results per section under
 * bench/results/, and a plain summary at the end (also bench/results/summary.md).
 *
 * Usage: node bench/run.mjs [section…] [options]     (`npm run bench` = build + all sections)
 *   sections: relay alloc scale tls proxy ws (default: all six)
 *   --quick            a ~3-minute smoke run (also BENCH_QUICK=1); results go to *.quick.*
 *   --rounds N         rounds per case (default 3, quick 1; BENCH_ROUNDS)
 *   --impl LIST        TURN implementations, e.g. coturn,ours-js (BENCH_IMPLS)
 *   --matrix all       every relay case (20 cases, ~35 min) instead of the default five
 *                      (BENCH_MATRIX=all); the relay max-rate probe runs after them
 *   --case TEXT        only relay cases whose name contains TEXT (repeatable); `--case probe`
 *                      runs the relay max-rate probe (otherwise left out of a filtered run)
 *   --levels LIST      idle allocations of the scale section (default 10000,50000,100000)
 *   --out DIR          where results go (default bench/results)
 * Standalone: bench/node-floor.mjs (relay vs a bare node:dgram forwarder), bench/one-port.mjs
 * (TURN/TLS on the shared HTTPS port vs the dedicated one).
 * @module
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Progress, machineInfo, machineLine, writeResult } from './lib/report.mjs';
import { REPO_ROOT } from './lib/proc.mjs';
import { fmtDuration } from './lib/stats.mjs';
import { turnImplementations } from './lib/servers.mjs';
import { relaySection } from './sections/relay.mjs';
import { allocSection } from './sections/alloc.mjs';
import { scaleSection } from './sections/scale.mjs';
import { tlsSection } from './sections/tls.mjs';
import { proxySection } from './sections/proxy.mjs';
import { wsSection } from './sections/ws.mjs';

/**
 * @typedef {object} Section
 * @property {string} name
 * @property {string} title
 * @property {(ctx: object) => { steps: number, secondsEach: number }} plan
 * @property {(ctx: object) => Promise<{ markdown: string, json: object, summary: string[] }>} run
 */

/** Every section by name, in the order of a full run. */
export const SECTIONS = {
  relay: relaySection,
  alloc: allocSection,
  scale: scaleSection,
  tls: tlsSection,
  proxy: proxySection,
  ws: wsSection,
};
const DEFAULT_SECTIONS = Object.keys(SECTIONS);
const TURN_SECTIONS = new Set(['relay', 'alloc', 'scale', 'tls']);
const MANY_SOCKETS = new Set(['alloc', 'scale']);

/** The options of a run from the command line and the environment. */
export function parseBenchArgs(argv, env = process.env) {
  const opts = {
    sections: [],
    quick: env.BENCH_QUICK === '1',
    rounds: env.BENCH_ROUNDS ? Number(env.BENCH_ROUNDS) : undefined,
    impls: env.BENCH_IMPLS ? env.BENCH_IMPLS.split(',') : undefined,
    matrix: env.BENCH_MATRIX ?? 'default',
    caseFilter: [],
    levels: env.BENCH_SCALE_LEVELS ? env.BENCH_SCALE_LEVELS.split(',').map(Number) : undefined,
    out: path.join(REPO_ROOT, 'bench/results'),
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--rounds') opts.rounds = Number(value());
    else if (arg === '--impl') opts.impls = value().split(',');
    else if (arg === '--matrix') opts.matrix = value();
    else if (arg === '--case') opts.caseFilter.push(value());
    else if (arg === '--levels') opts.levels = value().split(',').map(Number);
    else if (arg === '--out') opts.out = path.resolve(value());
    else if (arg === '--help' || arg === '-h') opts.help = true;
    else if (Object.hasOwn(SECTIONS, arg)) opts.sections.push(arg);
    else throw new Error(`unknown argument ${arg} (sections: ${Object.keys(SECTIONS).join(' ')})`);
  }
  if (!opts.sections.length) opts.sections = [...DEFAULT_SECTIONS];
  opts.rounds ??= opts.quick ? 1 : 3;
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new Error('--rounds must be ≥ 1');
  if (!['default', 'all'].includes(opts.matrix)) throw new Error('--matrix must be default or all');
  if (opts.levels?.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error('--levels must be positive integers, e.g. 10000,50000');
  }
  return opts;
}

/**
 * Runs again under `bash -c 'ulimit -n …'` with the open-file limit raised as far as allowed
 * (the allocation and scale sections hold one client socket per allocation). Returns the exit
 * code of that run, or undefined when this process should go on itself.
 */
function reexecWithMoreFiles(argv) {
  if (process.env.BENCH_NOFILE_RAISED === '1') return undefined;
  const script = 'ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"';
  const result = spawnSync(
    'bash',
    ['-c', script, process.execPath, path.join(import.meta.dirname, 'run.mjs'), ...argv],
    { stdio: 'inherit', env: { ...process.env, BENCH_NOFILE_RAISED: '1' } },
  );
  if (result.error) return undefined;
  return result.status ?? 1;
}

function sectionMarkdown(section, ctx, body, elapsedS) {
  return [
    `# ${section.title}${ctx.quick ? ' (quick run)' : ''}`,
    '',
    machineLine(ctx.machine),
    '',
    `Produced by \`node bench/run.mjs ${section.name}${ctx.quick ? ' --quick' : ''}\` in ${fmtDuration(elapsedS)}.`,
    '',
    body,
    '',
  ].join('\n');
}

/** Runs the sections named in `argv`; resolves to the process exit code. */
export async function main(argv) {
  const opts = parseBenchArgs(argv);
  if (opts.help) {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL(import.meta.url), 'utf8');
    console.log(
      text.slice(text.indexOf('/**') + 4, text.indexOf('@module')).replace(/^ \* ?/gm, ''),
    );
    return 0;
  }
  if (opts.sections.some((s) => MANY_SOCKETS.has(s))) {
    const code = reexecWithMoreFiles(argv);
    if (code !== undefined) return code;
  }
  const machine = machineInfo();
  const progress = new Progress();
  const ctx = { ...opts, machine, progress, turnImpls: [], hasDataPlaneFlag: false };
  if (opts.sections.some((s) => TURN_SECTIONS.has(s))) {
    const found = turnImplementations();
    ctx.hasDataPlaneFlag = found.hasDataPlaneFlag;
    ctx.implNote = found.note;
    ctx.turnImpls = opts.impls ? found.impls.filter((i) => opts.impls.includes(i)) : found.impls;
  }
  const sections = opts.sections.map((name) => SECTIONS[name]);
  for (const section of sections) {
    const { steps, secondsEach } = section.plan(ctx);
    progress.plan(steps, secondsEach);
  }
  console.log(
    `cloudproxy benchmarks (${opts.quick ? 'quick' : 'full'}): ${opts.sections.join(', ')}; ` +
      `${opts.rounds} round(s); TURN servers: ${ctx.turnImpls.join(', ') || 'n/a'}; ` +
      `about ${fmtDuration(progress.leftS())} planned`,
  );
  console.log(machineLine(machine));
  if (ctx.implNote) console.log(`note: ${ctx.implNote}`);
  const outcomes = [];
  for (const section of sections) {
    const t0 = performance.now();
    try {
      const result = await section.run(ctx);
      const elapsedS = (performance.now() - t0) / 1000;
      const file = writeResult(
        opts.out,
        section.name,
        opts.quick,
        sectionMarkdown(section, ctx, result.markdown, elapsedS),
        {
          section: section.name,
          quick: opts.quick,
          rounds: opts.rounds,
          machine,
          elapsedS,
          ...result.json,
        },
      );
      outcomes.push({ name: section.name, file, summary: result.summary, elapsedS });
      console.log(`${section.name}: written ${file}`);
    } catch (err) {
      const message = String(err?.message ?? err).split('\n')[0];
      outcomes.push({ name: section.name, error: message, summary: [] });
      console.log(`${section.name}: FAILED ${message}`);
    }
  }
  return writeSummary(ctx, outcomes, progress.elapsedS());
}

function writeSummary(ctx, outcomes, elapsedS) {
  const lines = [
    `cloudproxy benchmark summary (${ctx.quick ? 'quick run' : 'full run'}, ${ctx.rounds} round(s), ${fmtDuration(elapsedS)})`,
    machineLine(ctx.machine),
    `TURN servers: ${ctx.turnImpls.join(', ') || 'n/a'}${ctx.implNote ? ` (${ctx.implNote})` : ''}`,
  ];
  for (const o of outcomes) {
    if (o.error) lines.push(`${o.name}: FAILED: ${o.error}`);
    for (const line of o.summary) lines.push(line);
  }
  const text = lines.join('\n');
  const file = writeResult(
    ctx.out,
    'summary',
    ctx.quick,
    `# Benchmark summary\n\n\`\`\`\n${text}\n\`\`\`\n\nDetails: ${outcomes
      .filter((o) => o.file)
      .map((o) => `[${o.name}](${path.basename(o.file)})`)
      .join(', ')}.\n`,
    { machine: ctx.machine, quick: ctx.quick, rounds: ctx.rounds, elapsedS, sections: outcomes },
  );
  console.log(`\n---- summary (paste-able; also ${file}) ----\n${text}\n----`);
  return outcomes.some((o) => o.error) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(err?.stack ?? String(err));
      process.exitCode = 1;
    },
  );
}
