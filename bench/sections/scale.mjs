/**
 * Scale section: server memory and CPU with 10k, 50k and 100k idle allocations, each on its own
 * client socket and kept alive by Refresh, coturn against ours. RSS is read from
 * /proc/PID/stat before the first allocation and at every level: KiB per allocation =
 * (RSS − RSS before) / allocations, and the marginal KiB per allocation between two levels.
 * Target: ≤ 4 KiB per idle allocation, 100k allocations under 400 MiB RSS. When the open-file
 * limit rules out the higher levels, the highest level it allows is run instead and 100k is
 * projected from the RSS at that level plus the marginal cost.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { startLoadTarget } from '../lib/turn-client.mjs';
import { markdownTable } from '../lib/report.mjs';
import { fmt, fmtRatio, ratio, round } from '../lib/stats.mjs';
import { openFileLimit, processUsage } from '../lib/proc.mjs';
import { sleep } from '../lib/net.mjs';
import { COTURN_BIN, requireTools } from '../lib/servers.mjs';

/** Two relay addresses and the widest port range: 2 × 64,512 relay ports for 100k. */
const RELAY = { relayIps: ['127.0.0.2', '127.0.0.3'], minPort: 1024, maxPort: 65535 };
const CONCURRENCY = 256;
/** The target: 100k idle allocations under 400 MiB of RSS (4 KiB each). */
const TARGET_ALLOCATIONS = 100_000;
const TARGET_RSS_MIB = 400;
const LIFETIME_S = 600;
/** Each allocation is refreshed every half lifetime: `level / REFRESH_EVERY_S` Refreshes/s. */
const REFRESH_EVERY_S = LIFETIME_S / 2;

function settings(ctx) {
  const wanted = ctx.levels ?? (ctx.quick ? [1000, 3000] : [10_000, 50_000, 100_000]);
  const fdBudget = openFileLimit().soft - 1000;
  const levels = wanted.filter((n) => n <= fdBudget);
  const skipped = wanted.filter((n) => n > fdBudget);
  // The highest level the limit allows (whole thousands), for the marginal cost per allocation.
  const highest = Math.floor(fdBudget / 1000) * 1000;
  if (skipped.length && !ctx.levels && highest > (levels.at(-1) ?? 0)) levels.push(highest);
  return {
    levels,
    skipped,
    fdBudget,
    holdS: ctx.quick ? 3 : 10,
    timeoutMs: 3000,
  };
}

/** @type {import('../run.mjs').Section} */
export const scaleSection = {
  name: 'scale',
  title: 'Idle allocations: memory and CPU, cloudproxy vs coturn',
  plan(ctx) {
    const s = settings(ctx);
    const top = s.levels[s.levels.length - 1] ?? 0;
    // Creation at roughly 3,000 allocations/s, a hold and a settle per level.
    const perImplS = top / 3000 + s.levels.length * (s.holdS + 1.5) + 2;
    return {
      steps: s.levels.length * ctx.turnImpls.length,
      secondsEach: perImplS / Math.max(1, s.levels.length),
    };
  },
  async run(ctx) {
    requireTools([COTURN_BIN]);
    const s = settings(ctx);
    if (s.skipped.length) {
      ctx.progress.note(
        `scale: skipping ${s.skipped.map((n) => fmt(n)).join(', ')} allocations: the open-file limit allows ${fmt(s.fdBudget)} sockets (raise \`ulimit -n\`, e.g. as root)`,
      );
    }
    const { secondsEach } = this.plan(ctx);
    const rows = [];
    for (const impl of ctx.turnImpls) rows.push(...(await runImpl(ctx, impl, s, secondsEach)));
    return report(ctx, s, rows);
  },
};

async function runImpl(ctx, impl, s, secondsEach) {
  const rows = [];
  let target;
  let remaining = s.levels.length;
  try {
    target = await startLoadTarget(ctx, impl, RELAY, s.timeoutMs);
    const { server, client } = target;
    await sleep(1000);
    const baseline = processUsage(server.pid);
    const sessions = [];
    const errors = {};
    for (const level of s.levels) {
      ctx.progress.start('scale', `${impl} ${fmt(level)} idle allocations`);
      const t0 = performance.now();
      const cpu0 = processUsage(server.pid);
      await create(client, sessions, level, errors);
      const createS = (performance.now() - t0) / 1000;
      const cpu1 = processUsage(server.pid);
      await sleep(1000);
      const hold = await holdWithRefresh(client, sessions, server.pid, s.holdS, errors);
      const usage = processUsage(server.pid);
      if (!usage) throw new Error(`${impl} server died:\n${server.proc.output().slice(-2000)}`);
      const created = sessions.length;
      const row = {
        impl,
        level,
        created,
        failed: Object.values(errors).reduce((a, b) => a + b, 0),
        errors: { ...errors },
        createPerS: round((created - (rows.at(-1)?.created ?? 0)) / createS),
        createCpuUsPerAlloc: round(
          ((cpu1.cpuS - cpu0.cpuS) / Math.max(1, created - (rows.at(-1)?.created ?? 0))) * 1e6,
          1,
        ),
        rssBytes: usage.rssBytes,
        rssMiB: round(usage.rssBytes / 2 ** 20, 1),
        baselineRssMiB: round(baseline.rssBytes / 2 ** 20, 1),
        kibPerAlloc: created
          ? round((usage.rssBytes - baseline.rssBytes) / 1024 / created, 2)
          : undefined,
        marginalKibPerAlloc: marginal(rows.at(-1), usage.rssBytes, created),
        holdCpuPercent: hold.cpuPercent,
        refreshPerS: hold.refreshPerS,
        threads: usage.threads,
      };
      rows.push(row);
      remaining--;
      ctx.progress.finish(secondsEach, describe(row));
      if (created < level * 0.99) {
        ctx.progress.note(`${impl}: stopping at ${fmt(created)} of ${fmt(level)} allocations`);
        break;
      }
    }
  } catch (err) {
    rows.push({ impl, error: String(err.message ?? err) });
    ctx.progress.finish(secondsEach, `ERROR ${String(err.message ?? err).split('\n')[0]}`);
    remaining = Math.max(0, remaining - 1);
  } finally {
    ctx.progress.drop(remaining, secondsEach);
    await target?.stop();
  }
  return rows;
}

/**
 * Opens sockets and allocates until `sessions` holds `level` allocations, giving up after
 * failures worth 2% of the level.
 */
async function create(client, sessions, level, errors) {
  let started = sessions.length;
  let failed = 0;
  const worker = async () => {
    while (started < level && failed <= level * 0.02) {
      started++;
      let session;
      try {
        session = await client.open();
        await client.allocate(session, { lifetimeS: LIFETIME_S });
        sessions.push(session);
      } catch (err) {
        failed++;
        started--;
        errors[err.code ?? 'other'] = (errors[err.code ?? 'other'] ?? 0) + 1;
        if (session) client.close(session);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Holds for `holdS`, refreshing allocations round-robin at `sessions / REFRESH_EVERY_S` per s. */
async function holdWithRefresh(client, sessions, pid, holdS, errors) {
  const rate = sessions.length / REFRESH_EVERY_S;
  const cpu0 = processUsage(pid);
  const t0 = performance.now();
  let sent = 0;
  let next = 0;
  const pending = new Set();
  while (performance.now() - t0 < holdS * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (sent < due && sessions.length) {
      const session = sessions[next++ % sessions.length];
      sent++;
      const p = client.refresh(session, LIFETIME_S).catch((err) => {
        const key = `refresh-${err.code ?? 'other'}`;
        errors[key] = (errors[key] ?? 0) + 1;
      });
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    await sleep(20);
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu1 = processUsage(pid);
  await Promise.all([...pending]);
  return {
    cpuPercent: cpu0 && cpu1 ? round(((cpu1.cpuS - cpu0.cpuS) / wallS) * 100, 2) : undefined,
    refreshPerS: round(sent / wallS, 1),
  };
}

/** KiB of RSS per allocation added since the previous level (undefined at the first). */
function marginal(previous, rssBytes, created) {
  if (!previous?.created || created <= previous.created) return undefined;
  return round((rssBytes - previous.rssBytes) / 1024 / (created - previous.created), 2);
}

/** RSS at 100k allocations: RSS at the top level plus the marginal cost of the rest. */
function projection(rows, impl) {
  const top = rows.filter((r) => r.impl === impl && !r.error).at(-1);
  if (!top?.marginalKibPerAlloc || top.created >= TARGET_ALLOCATIONS) return undefined;
  return round(top.rssMiB + ((TARGET_ALLOCATIONS - top.created) * top.marginalKibPerAlloc) / 1024);
}

function describe(row) {
  const errors = Object.entries(row.errors)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
  return (
    `${fmt(row.created)} allocated (${fmt(row.createPerS)}/s${errors ? `; failures ${errors}` : ''}), ` +
    `RSS ${fmt(row.rssMiB, 1)} MiB (${fmt(row.kibPerAlloc, 2)} KiB/allocation${row.marginalKibPerAlloc === undefined ? '' : `, ${fmt(row.marginalKibPerAlloc, 2)} KiB marginal`}), ` +
    `idle CPU ${fmt(row.holdCpuPercent, 1)}% with ${fmt(row.refreshPerS, 1)} Refresh/s`
  );
}

function report(ctx, s, rows) {
  const table = rows.map((r) =>
    r.error
      ? [r.impl, 'error', r.error.split('\n')[0], '', '', '', '', '', '', '']
      : [
          r.impl,
          fmt(r.level),
          fmt(r.created),
          Object.entries(r.errors)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
          `${fmt(r.createPerS)} (${fmt(r.createCpuUsPerAlloc)} µs each)`,
          `${fmt(r.baselineRssMiB, 1)} → ${fmt(r.rssMiB, 1)}`,
          fmt(r.kibPerAlloc, 2),
          r.marginalKibPerAlloc === undefined ? '' : fmt(r.marginalKibPerAlloc, 2),
          fmt(r.holdCpuPercent, 2),
          fmt(r.refreshPerS, 1),
        ],
  );
  const summary = [];
  for (const level of s.levels) {
    const c = rows.find((r) => r.impl === 'coturn' && r.level === level);
    const parts = ctx.turnImpls.map((impl) => {
      const r = rows.find((x) => x.impl === impl && x.level === level);
      if (!r) return `${impl} —`;
      const vs = impl === 'coturn' ? '' : ` (${fmtRatio(ratio(r.kibPerAlloc, c?.kibPerAlloc))})`;
      return `${impl} ${fmt(r.kibPerAlloc, 2)} KiB/alloc${vs}, ${fmt(r.rssMiB)} MiB, ${fmt(r.holdCpuPercent, 1)}% CPU${r.created < level ? `, only ${fmt(r.created)} allocated` : ''}`;
    });
    summary.push(`scale ${fmt(level)} idle allocations: ${parts.join('; ')}`);
  }
  const projected = ctx.turnImpls.map((impl) => [impl, projection(rows, impl)]);
  if (projected.some(([, mib]) => mib !== undefined)) {
    const top = s.levels.at(-1);
    summary.push(
      `scale: RSS projected at ${fmt(TARGET_ALLOCATIONS)} allocations (RSS at ${fmt(top)} + marginal KiB/alloc × the rest; target < ${TARGET_RSS_MIB} MiB): ${projected.map(([impl, mib]) => `${impl} ${mib === undefined ? '—' : `${fmt(mib)} MiB`}`).join(', ')}`,
    );
  }
  if (s.skipped.length) {
    summary.push(
      `scale: ${s.skipped.map((n) => fmt(n)).join(', ')} skipped (open-file limit ${fmt(s.fdBudget + 1000)})`,
    );
  }
  const markdown = [
    `Allocations made by one Node client (@cloudproxy/stun, long-term credentials, ${CONCURRENCY} in flight), each on its own UDP socket, requested lifetime ${LIFETIME_S} s, none with permissions or traffic. Levels are cumulative on one server per implementation; at each level a ${s.holdS}-s hold refreshes allocations round-robin at level / ${REFRESH_EVERY_S} per second (every allocation once per half lifetime). Relay addresses 127.0.0.2 and 127.0.0.3, ports 1024–65535, the same flags on both servers (a server that uses only its first relay address per family can hold at most 64,512 allocations).`,
    s.skipped.length
      ? `\nSkipped levels ${s.skipped.map((n) => fmt(n)).join(', ')}: the open-file limit (${fmt(s.fdBudget + 1000)}) is too low for one client socket and one relay socket per allocation; run as a user who may raise \`ulimit -n\`.\n`
      : '',
    ctx.implNote ? `\n${ctx.implNote}\n` : '',
    markdownTable(
      [
        'server',
        'level',
        'allocated',
        'failures',
        'created/s (server CPU)',
        'RSS MiB before → at level',
        'KiB per allocation',
        'marginal KiB per allocation',
        'CPU % in hold',
        'Refresh/s',
      ],
      table,
    ),
    '',
    '- **KiB per allocation**: (server RSS at the level − RSS before the first allocation) / allocations; target ≤ 4 KiB. It includes one-time growth (a Node server commits its young generation, up to 32 MiB, during the first burst), which weighs more the fewer allocations there are.',
    '- **marginal KiB per allocation**: (RSS at the level − RSS at the previous level) / allocations added: what each further allocation costs.',
    `- **projected RSS at ${fmt(TARGET_ALLOCATIONS)}**: RSS at the highest level run + marginal KiB per allocation × the allocations missing to ${fmt(TARGET_ALLOCATIONS)} (only when that level could not be run); target < ${TARGET_RSS_MIB} MiB.`,
    '- **CPU % in hold**: the server process’s utime+stime (`/proc/PID/stat`, all threads) over the hold, in % of one core.',
  ].join('\n');
  return { markdown, json: { settings: s, rows }, summary };
}
