#!/usr/bin/env node
// TURN relay benchmark: coturn's `turnserver` and ours (`node bin/cloudproxy.js turn …`), one
// after the other on loopback, under the same `turnutils_uclient` load (ChannelData). Prints and
// writes (bench/results/turn-relay.{md,json}) relayed messages/s, loss, uclient's delay and the
// server's CPU time per relayed message, read from /proc/<pid>/stat (utime+stime of the server
// and its descendants), so the load generator's own cost is excluded.
//
// Usage: node bench/turn-relay.mjs [--quick] [--impl coturn|cloudproxy|both] [--case TEXT]…
//          [--seconds N] [--timeout N] [--mode echo|c2c] [--out DIR]
//   (`npm run bench` builds first; env BENCH_QUICK=1 and BENCH_IMPL=… work too.)
//
// How uclient behaves (coturn 4.6, src/apps/uclient/uclient.c) and how this script copes:
// - each session starts sending 1–6 s (random) after allocating, so the load ramps up: the rate
//   is measured over the best `window` seconds of uclient's once-a-second progress lines
//   ("tot_send_msgs=…, tot_recv_msgs=…"), with the server's CPU sampled at the same moments;
// - `-z MS` paces each session (one message every MS ms, catching up by up to 50 per 1-ms
//   tick); `-z 0` floods (50 messages per tick per session);
// - after its last message a session waits until everything arrived, or 10 s: a lossy run
//   takes 10 s longer, and a run still going at the case bound is killed (then the delay is
//   unknown and loss is estimated from the progress lines);
// - its "round trip delay" has 1-ms resolution (loopback averages are fractions of a ms).
// Bounds: every case is killed after --timeout s (default 35, quick 22): uclient's random 1–6 s
// start and its 10-s wait after any loss make a 10-s bound impossible; a cut run loses only the
// delay figure.
// Mode `echo` (default): every session relays to a `turnutils_peer` UDP echo peer, so a message
// crosses the relay twice (client→peer, peer→client) and the delay is a real round trip.
// Mode `c2c` (`-y`): sessions pair up and talk to each other through their relays.
import { execFileSync, spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const COTURN_BIN = process.env.COTURN_BIN ?? '/usr/bin/turnserver';
const UCLIENT_BIN = '/usr/bin/turnutils_uclient';
const PEER_BIN = '/usr/bin/turnutils_peer';
const CLI_ENTRY = path.join(REPO_ROOT, 'bin/cloudproxy.js');
const CLI_BUILT = path.join(REPO_ROOT, 'packages/cli/dist/main.js');
const USER = { name: 'bench', password: 'bench-password' };
const REALM = 'bench.cloudproxy';

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const opts = {
    quick: process.env.BENCH_QUICK === '1',
    impl: process.env.BENCH_IMPL ?? 'both',
    cases: [],
    seconds: undefined,
    timeout: undefined,
    window: undefined,
    mode: 'echo',
    out: path.join(REPO_ROOT, 'bench/results'),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--impl') opts.impl = value();
    else if (arg === '--case') opts.cases.push(value());
    else if (arg === '--seconds') opts.seconds = Number(value());
    else if (arg === '--timeout') opts.timeout = Number(value());
    else if (arg === '--window') opts.window = Number(value());
    else if (arg === '--mode') opts.mode = value();
    else if (arg === '--out') opts.out = path.resolve(value());
    else if (arg === '--help' || arg === '-h') {
      console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\nimport ')[0]);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  if (!['coturn', 'cloudproxy', 'both'].includes(opts.impl)) {
    throw new Error('--impl must be coturn, cloudproxy or both');
  }
  if (!['echo', 'c2c'].includes(opts.mode)) throw new Error('--mode must be echo or c2c');
  // Paced sessions send for `seconds` (they start 1–6 s apart, so all of them overlap for
  // `seconds` − 5 s); every case is killed after `timeout` seconds.
  opts.seconds ??= opts.quick ? 7 : 10;
  opts.window ??= opts.quick ? 2 : 3;
  opts.timeout ??= opts.quick ? 22 : 35;
  return opts;
}

/**
 * The load cases. Paced: one message every 2 ms per session (500/s) for `seconds`. Unpaced
 * (`-z 0`): every session floods without end; uclient is stopped once all sessions have
 * started and one full measurement window has passed.
 */
function allCases(opts) {
  const cases = [];
  const paced = (clients, size, headline = false) => ({
    name: `${headline ? 'headline ' : ''}paced ${clients}×500/s ${size} B`,
    clients,
    size,
    intervalMs: 2,
    messages: Math.round((opts.seconds * 1000) / 2),
    offered: clients * 500,
    headline,
  });
  const unpaced = (clients, size) => ({
    name: `unpaced ${clients} client${clients === 1 ? '' : 's'} ${size} B`,
    clients,
    size,
    intervalMs: 0,
    messages: 10_000_000,
    offered: undefined,
    headline: false,
  });
  for (const size of [100, 1200]) cases.push(paced(40, size, true));
  for (const size of [100, 1200]) {
    for (const clients of [1, 10, 50]) cases.push(paced(clients, size));
    for (const clients of [1, 10, 50]) cases.push(unpaced(clients, size));
  }
  if (opts.cases.length) {
    return cases.filter((c) => opts.cases.some((text) => c.name.includes(text)));
  }
  if (opts.quick) {
    const quick = [
      'headline paced 40×500/s 100 B',
      'paced 10×500/s 1200 B',
      'unpaced 10 clients 100 B',
    ];
    return cases.filter((c) => quick.includes(c.name));
  }
  return cases;
}

// ---------------------------------------------------------------- processes and ports

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(130);
  });
}

function startProcess(file, args, { cwd = REPO_ROOT, onLine } = {}) {
  const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const proc = { child, output: '', exited: undefined };
  let partial = '';
  const onData = (chunk) => {
    const text = chunk.toString('utf8');
    proc.output = (proc.output + text).slice(-200_000);
    if (!onLine) return;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  proc.done = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      proc.exited = { code, signal };
      resolve(proc.exited);
    });
    child.once('error', (err) => {
      children.delete(child);
      proc.output += `\nspawn error: ${err.message}`;
      proc.exited = { code: null, signal: null };
      resolve(proc.exited);
    });
  });
  proc.stop = async () => {
    if (proc.exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await proc.done;
    clearTimeout(timer);
  };
  return proc;
}

async function freePort(host = '127.0.0.1') {
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: host, port: 0, exclusive: true }, resolve);
    });
    const { port } = udp.address();
    const tcpOk = await new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
    });
    await new Promise((resolve) => udp.close(resolve));
    if (tcpOk) return port;
  }
  throw new Error('no free port');
}

/** Resolves true when host:port answers a STUN Binding request (or a UDP echo) in `ms`. */
function udpAnswers(host, port, bytes, ms) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(false);
    }, ms);
    socket.on('message', (msg) => {
      if (msg.length >= 20 && msg.subarray(8, 20).equals(bytes.subarray(8, 20))) {
        clearTimeout(timer);
        socket.close();
        resolve(true);
      }
    });
    socket.on('error', () => undefined); // ICMP errors: treated as no answer
    socket.send(bytes, port, host);
  });
}

function bindingRequest() {
  const bytes = Buffer.alloc(20);
  bytes.writeUInt16BE(0x0001, 0);
  bytes.writeUInt16BE(0, 2);
  bytes.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(bytes, 8);
  return bytes;
}

async function waitUntil(proc, what, probe, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited)
      throw new Error(
        `${what} exited (${JSON.stringify(proc.exited)}):\n${proc.output.slice(-4000)}`,
      );
    if (await probe()) return;
  }
  await proc.stop();
  throw new Error(`${what} not ready in ${timeoutMs} ms:\n${proc.output.slice(-4000)}`);
}

// ---------------------------------------------------------------- servers

function serverCommand(impl, port, workDir) {
  const args = [
    '--listening-ip',
    '127.0.0.1',
    '--listening-port',
    String(port),
    '--relay-ip',
    '127.0.0.1',
    '--realm',
    REALM,
    '--lt-cred-mech',
    '--user',
    `${USER.name}:${USER.password}`,
    '--allow-loopback-peers',
    '--no-tls',
  ];
  if (impl === 'cloudproxy') return [process.execPath, [CLI_ENTRY, 'turn', ...args]];
  const conf = path.join(workDir, 'turnserver.conf');
  writeFileSync(conf, '# empty: keeps coturn away from /etc/turnserver.conf\n');
  return [
    COTURN_BIN,
    [
      '-c',
      conf,
      ...args,
      '--no-cli',
      '--no-dtls',
      '--no-rfc5780',
      '--log-file',
      'stdout',
      '--simple-log',
      '--pidfile',
      path.join(workDir, 'turnserver.pid'),
      '--userdb',
      path.join(workDir, 'turndb'),
    ],
  ];
}

async function startServer(impl) {
  const workDir = mkdtempSync(path.join(os.tmpdir(), `bench-${impl}-`));
  const port = await freePort();
  const [file, args] = serverCommand(impl, port, workDir);
  const proc = startProcess(file, args);
  try {
    await waitUntil(proc, `${impl} server`, () =>
      udpAnswers('127.0.0.1', port, bindingRequest(), 200),
    );
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  return {
    impl,
    port,
    pid: proc.child.pid,
    proc,
    stop: async () => {
      await proc.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

async function startEchoPeer() {
  const port = await freePort();
  const proc = startProcess(PEER_BIN, ['-L', '127.0.0.1', '-p', String(port)]);
  const probe = Buffer.concat([Buffer.alloc(8), randomBytes(12)]);
  await waitUntil(proc, 'turnutils_peer', () => udpAnswers('127.0.0.1', port, probe, 200), 5000);
  return { port, pid: proc.child.pid, stop: () => proc.stop() };
}

// ---------------------------------------------------------------- CPU accounting

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // keep 100
}

function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** CPU seconds of `pid` and all its live descendants (a server may fork workers). */
function treeCpuSeconds(pid) {
  const parents = new Map();
  const ticks = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(name);
    if (!stat) continue;
    parents.set(Number(name), stat.ppid);
    ticks.set(Number(name), stat.ticks);
  }
  let total = 0;
  for (const [candidate, t] of ticks) {
    for (let p = candidate, depth = 0; p > 1 && depth < 32; p = parents.get(p) ?? 0, depth++) {
      if (p === pid) {
        total += t;
        break;
      }
    }
  }
  return total / clockTicks;
}

// ---------------------------------------------------------------- one case

const PROGRESS = /start_mclient: msz=(\d+), tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/;
/** uclient starts every session's traffic 1 + random()%5000 ms after the allocations. */
const LAST_START_S = 6;

function parseSummary(output) {
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

/** The best window of ≥ `seconds` between progress samples: highest received rate. */
function bestWindow(samples, seconds) {
  let best;
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      const dt = samples[j].t - samples[i].t;
      if (dt < seconds * 0.95) continue;
      const rate = (samples[j].recv - samples[i].recv) / dt;
      if (!best || rate > best.rate) best = { from: samples[i], to: samples[j], rate, dt };
      break;
    }
  }
  if (best || samples.length < 2) return best;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const dt = last.t - first.t;
  return dt > 0 ? { from: first, to: last, rate: (last.recv - first.recv) / dt, dt } : undefined;
}

async function runCase(impl, testCase, opts, peer) {
  const server = await startServer(impl);
  const samples = [];
  try {
    const args = ['-c', '-m', String(testCase.clients), '-n', String(testCase.messages)];
    args.push('-l', String(testCase.size), '-z', String(testCase.intervalMs));
    args.push('-u', USER.name, '-w', USER.password, '-p', String(server.port));
    if (opts.mode === 'c2c') args.push('-y');
    else args.push('-e', '127.0.0.1', '-r', String(peer.port));
    args.push('127.0.0.1');
    const t0 = performance.now();
    const cpu0 = treeCpuSeconds(server.pid);
    let connectedAt;
    const unpaced = testCase.intervalMs === 0;
    const uclient = startProcess(UCLIENT_BIN, args, {
      onLine: (line) => {
        const t = (performance.now() - t0) / 1000;
        if (connectedAt === undefined && line.includes('Total connect time')) connectedAt = t;
        const m = PROGRESS.exec(line);
        if (!m) return;
        samples.push({
          t,
          sent: Number(m[2]),
          recv: Number(m[3]),
          cpu: treeCpuSeconds(server.pid) - cpu0,
        });
        // A flood has no natural end: stop once every session runs and a window has passed.
        if (
          unpaced &&
          connectedAt !== undefined &&
          t >= connectedAt + LAST_START_S + opts.window + 1.2
        ) {
          uclient.child.kill('SIGKILL');
        }
      },
    });
    const timer = setTimeout(() => uclient.child.kill('SIGKILL'), opts.timeout * 1000);
    const exit = await uclient.done;
    clearTimeout(timer);
    const elapsed = (performance.now() - t0) / 1000;
    const cpuTotal = treeCpuSeconds(server.pid) - cpu0;
    if (server.proc.exited)
      throw new Error(`${impl} server died during the run:\n${server.proc.output.slice(-3000)}`);
    const summary = parseSummary(uclient.output);
    const killed = exit.signal === 'SIGKILL';
    const cutAtBound = killed && !unpaced;
    if (!summary && !samples.length) {
      throw new Error(
        `uclient produced nothing (exit ${JSON.stringify(exit)}):\n${uclient.output.slice(-2000)}`,
      );
    }
    const window = bestWindow(samples, opts.window);
    const last = samples[samples.length - 1];
    const received = summary?.received ?? last?.recv ?? 0;
    const sent = summary?.sent ?? last?.sent ?? 0;
    const windowSent = window ? window.to.sent - window.from.sent : 0;
    const windowRecv = window ? window.to.recv - window.from.recv : 0;
    const windowCpu = window ? window.to.cpu - window.from.cpu : 0;
    return {
      impl,
      case: testCase.name,
      clients: testCase.clients,
      size: testCase.size,
      intervalMs: testCase.intervalMs,
      messagesPerSession: testCase.messages,
      offered: testCase.offered,
      completed: Boolean(summary) && !killed,
      cutAtBound,
      elapsedS: round(elapsed, 2),
      sent,
      received,
      ratePerS: window ? Math.round(window.rate) : Math.round(received / elapsed),
      windowS: window ? round(window.dt, 2) : undefined,
      lossPercent: summary
        ? round((summary.lost / Math.max(1, summary.sent)) * 100, 3)
        : round(Math.max(0, 1 - windowRecv / Math.max(1, windowSent)) * 100, 3),
      lossFrom: summary ? 'summary' : 'window',
      sendDropped: summary?.sendDropped,
      rttAvgMs: summary?.rttAvgMs,
      rttMaxMs: summary?.rttMaxMs,
      connectS: connectedAt === undefined ? undefined : round(connectedAt, 2),
      cpuSeconds: round(cpuTotal, 3),
      cpuUsPerMsg: received > 0 ? round((cpuTotal / received) * 1e6, 2) : undefined,
      windowCpuUsPerMsg: windowRecv > 0 ? round((windowCpu / windowRecv) * 1e6, 2) : undefined,
      serverCpuPercent: window ? round((windowCpu / window.dt) * 100, 1) : undefined,
      loadavg: os.loadavg().map((x) => round(x, 2)),
      args: [UCLIENT_BIN, ...args].join(' '),
      samples,
    };
  } finally {
    await server.stop();
  }
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------- reporting

function fmt(value, digits = 0) {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  return value.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function cell(result, pick) {
  if (!result) return '—';
  if (result.error) return 'error';
  return pick(result);
}

function markdownTable(cases, results, impls) {
  const by = (impl, name) => results.find((r) => r.impl === impl && r.case === name);
  const cols = [
    ['relayed msg/s', (r) => fmt(r.ratePerS)],
    ['loss %', (r) => fmt(r.lossPercent, 2) + (r.lossFrom === 'window' ? '~' : '')],
    [
      'delay ms avg/max',
      (r) => (r.rttAvgMs === undefined ? '—' : `${fmt(r.rttAvgMs, 2)} / ${fmt(r.rttMaxMs)}`),
    ],
    ['CPU µs/msg', (r) => fmt(r.cpuUsPerMsg, 1)],
  ];
  const header = ['case', 'offered msg/s'];
  for (const [label] of cols) for (const impl of impls) header.push(`${impl} ${label}`);
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const c of cases) {
    const row = [c.headline ? `**${c.name}**` : c.name, c.offered ? fmt(c.offered) : 'max'];
    for (const [, pick] of cols) for (const impl of impls) row.push(cell(by(impl, c.name), pick));
    lines.push(`| ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}

function versionOf(file, args) {
  try {
    return execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 })
      .toString()
      .trim()
      .split('\n')[0];
  } catch (err) {
    return `unknown (${err.message.split('\n')[0]})`;
  }
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    coturn: versionOf(COTURN_BIN, ['--version']),
    loadavgAtStart: os.loadavg().map((x) => round(x, 2)),
    clockTicksPerS: clockTicks,
  };
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const impls = opts.impl === 'both' ? ['coturn', 'cloudproxy'] : [opts.impl];
  for (const bin of [UCLIENT_BIN, PEER_BIN, ...(impls.includes('coturn') ? [COTURN_BIN] : [])]) {
    if (!existsSync(bin))
      throw new Error(`${bin} missing: run scripts/install-deps.sh (Debian package coturn)`);
  }
  if (impls.includes('cloudproxy') && !existsSync(CLI_BUILT)) {
    console.error(
      `warning: ${path.relative(REPO_ROOT, CLI_BUILT)} is missing (run \`npm run build\`): cloudproxy cases will fail`,
    );
  }
  const cases = allCases(opts);
  if (!cases.length) throw new Error('no case matches --case');
  const machine = machineInfo();
  console.log(
    `TURN relay benchmark (${opts.quick ? 'quick' : 'full'}, mode ${opts.mode}, ${cases.length} cases × ${impls.join(' + ')})`,
  );
  console.log(
    `${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.kernel}, Node ${machine.node}, coturn ${machine.coturn}, load ${machine.loadavgAtStart.join(' ')}`,
  );

  const peer = opts.mode === 'echo' ? await startEchoPeer() : undefined;
  const results = [];
  try {
    for (const testCase of cases) {
      for (const impl of impls) {
        process.stdout.write(`${impl.padEnd(10)} ${testCase.name.padEnd(34)} `);
        try {
          const r = await runCase(impl, testCase, opts, peer);
          results.push(r);
          console.log(
            `${fmt(r.ratePerS).padStart(7)} msg/s  loss ${fmt(r.lossPercent, 2)}%${r.lossFrom === 'window' ? '~' : ''}  ` +
              `delay ${r.rttAvgMs === undefined ? '—' : fmt(r.rttAvgMs, 2)} ms  CPU ${fmt(r.cpuUsPerMsg, 1)} µs/msg ` +
              `(server ${fmt(r.serverCpuPercent)}% CPU, ${fmt(r.elapsedS, 1)} s${r.cutAtBound ? ', cut at the bound' : ''})`,
          );
        } catch (err) {
          results.push({ impl, case: testCase.name, error: String(err.message ?? err) });
          console.log(`ERROR ${String(err.message ?? err).split('\n')[0]}`);
        }
      }
    }
  } finally {
    await peer?.stop();
  }

  const table = markdownTable(cases, results, impls);
  const errors = results.filter((r) => r.error);
  const md = [
    `# TURN relay benchmark${opts.quick ? ' (quick)' : ''}`,
    '',
    `${machine.date} — ${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.memGiB} GiB, ${machine.kernel}, Node ${machine.node}, coturn ${machine.coturn}; load average at start ${machine.loadavgAtStart.join(' ')}.`,
    '',
    `Load: \`turnutils_uclient\` on loopback, ChannelData over UDP, ${opts.mode === 'echo' ? 'each session relaying to a `turnutils_peer` echo peer (a message crosses the relay twice; delay = round trip)' : 'sessions paired client to client (`-y`; delay = one way)'}. ` +
      `Paced: one message every 2 ms per session (\`-z 2\`) for ${opts.seconds} s; unpaced: \`-z 0\` (every session floods), stopped ${opts.window + 1.2} s after the last session started. Every case bounded at ${opts.timeout} s.`,
    '',
    table,
    '',
    '- **relayed msg/s**: messages received back by uclient per second over the best ' +
      `${opts.window}-s window of its once-a-second progress lines (sessions start 1–6 s apart).`,
    '- **loss %**: from uclient’s summary; `~`: 1 − received/sent over the window (unpaced runs, or a run cut at the bound).',
    '- **delay ms**: uclient’s “Average round trip delay” and maximum (1-ms resolution; `—` when uclient was stopped).',
    '- **CPU µs/msg**: server utime+stime (`/proc/<pid>/stat`, itself and descendants) over the whole run, divided by messages received; excludes uclient and the echo peer.',
    errors.length
      ? `\nErrors:\n${errors.map((e) => `- ${e.impl} ${e.case}: ${e.error.split('\n')[0]}`).join('\n')}`
      : '',
    '',
  ].join('\n');
  mkdirSync(opts.out, { recursive: true });
  const base = path.join(opts.out, opts.quick ? 'turn-relay.quick' : 'turn-relay');
  writeFileSync(`${base}.md`, md);
  writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ machine, options: { ...opts, out: undefined }, cases, results }, null, 2)}\n`,
  );
  console.log(`\n${table}\n\nwritten: ${path.relative(process.cwd(), base)}.md and .json`);
  if (errors.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err.stack ?? String(err));
  process.exitCode = 1;
});
