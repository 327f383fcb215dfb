#!/usr/bin/env node
// Soak test of the relay: N allocations (default 10,000) held and refreshed for a while
// (default 10 minutes) against the real `cloudproxy turn`, with ChannelData echoed through a
// UDP peer on a sample of them (default 100), while the server's RSS, V8 heap, open file
// descriptors and event-loop lag are sampled. At the end every allocation is deleted, and the
// run passes when no allocation, refresh or echo was lost and memory and descriptors stayed
// flat (the last quarter of the samples after warm-up against the first quarter).
// Writes a Markdown and a JSON report (default bench/results/soak.{md,json}); exit code 1 on
// failure.
//
// Usage: npm run soak   (builds, raises the fd limit, runs this file)
//        SOAK_MINUTES=2 SOAK_ALLOCATIONS=2000 npm run soak
// Environment (all optional):
//   SOAK_MINUTES (10) or SOAK_SECONDS   how long the allocations are held after the ramp-up
//   SOAK_ALLOCATIONS (10000)            allocations, one UDP socket each
//   SOAK_SAMPLE (100)                   allocations that also carry ChannelData echo traffic
//   SOAK_REFRESH_S (60)                 each allocation is refreshed this often (staggered)
//   SOAK_ECHO_MS (1000)                 each sampled allocation sends one message this often
//   SOAK_SAMPLE_EVERY_S (5)             server sampling period
//   SOAK_WARMUP_S (60, at most a quarter of the run)  samples ignored by the flatness check
//   SOAK_MEMORY_TOLERANCE_PCT (15)      allowed RSS and heap growth, last vs first quarter
//   SOAK_FD_TOLERANCE (16)              allowed growth of open descriptors (absolute)
//   SOAK_OUT (bench/results)            report directory; SOAK_NAME (soak) report file name
//   SOAK_PER_IP (50)                    allocations per client source address: clients bind to
//                                       127.1.x.y (apart from the relay ports on 127.0.0.1), as
//                                       users behind many addresses; the relay limits its 401/438
//                                       answers per source address (100/s), as against floods
// The fd limit must cover the client sockets here and the relay sockets in the server (both
// inherit it): `npm run soak` raises the soft limit to 65536, or to the hard limit when that is
// lower (a container may cap even root).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeReport } from './soak-report.mjs';
import { TurnLoadClient, startEchoPeer } from './turn-load-client.mjs';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const CHANNEL = 0x4000;
const REALM = 'soak.cloudproxy';
const USER = { name: 'soak', password: 'soak-password-0123456789' };
const CHANNEL_REFRESH_MS = 120_000;
const RAMP_CONCURRENCY = 200;
const ECHO_TIMEOUT_MS = 5000;

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: not a number ≥ 0: ${raw}`);
  return value;
}

function settings() {
  const seconds = process.env.SOAK_SECONDS
    ? envNumber('SOAK_SECONDS', 600)
    : envNumber('SOAK_MINUTES', 10) * 60;
  const allocations = Math.floor(envNumber('SOAK_ALLOCATIONS', 10_000));
  return {
    seconds,
    allocations,
    sample: Math.min(allocations, Math.floor(envNumber('SOAK_SAMPLE', 100))),
    refreshMs: envNumber('SOAK_REFRESH_S', 60) * 1000,
    echoMs: envNumber('SOAK_ECHO_MS', 1000),
    sampleEveryMs: envNumber('SOAK_SAMPLE_EVERY_S', 5) * 1000,
    warmupMs: Math.min(envNumber('SOAK_WARMUP_S', 60), seconds / 4) * 1000,
    memoryTolerancePct: envNumber('SOAK_MEMORY_TOLERANCE_PCT', 15),
    fdTolerance: envNumber('SOAK_FD_TOLERANCE', 16),
    outDir: path.resolve(process.env.SOAK_OUT ?? path.join(REPO_ROOT, 'bench/results')),
    name: process.env.SOAK_NAME ?? 'soak',
    perIp: Math.max(1, Math.floor(envNumber('SOAK_PER_IP', 50))),
  };
}

/** The loopback source address of client group `k`: 127.1.0.1, 127.1.0.2, … 127.1.0.250, 127.1.1.1 … */
const clientIp = (k) => `127.1.${Math.floor(k / 250) % 256}.${(k % 250) + 1}`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function fdLimit() {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? 1024);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- the server

async function startServer() {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const args = [
    path.join(REPO_ROOT, 'bin/cloudproxy.js'),
    'turn',
    '--listening-ip',
    '127.0.0.1',
    '--listening-port',
    String(port),
    '--relay-ip',
    '127.0.0.1',
    '--min-port',
    '20000',
    '--max-port',
    '60999',
    '--realm',
    REALM,
    '--lt-cred-mech',
    '--user',
    `${USER.name}:${USER.password}`,
    '--allow-loopback-peers',
    '--no-tls',
    '--no-tcp',
    '--prometheus',
    '--prometheus-port',
    String(metricsPort),
  ];
  const extra = (process.env.SOAK_SERVER_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...args, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-1024 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cloudproxy turn exited:\n${output}`);
    try {
      const res = await globalThis.fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`cloudproxy turn not ready in 20 s:\n${output}`);
    }
    await sleep(200);
  }
  return {
    pid: child.pid,
    port,
    metricsPort,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await new Promise((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
    },
  };
}

function metricValue(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function sampleServer(server) {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const fds = readdirSync(`/proc/${server.pid}/fd`).length;
  const text = await (
    await globalThis.fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)
  ).text();
  return {
    rssBytes: rssKb * 1024,
    fds,
    heapUsedBytes: metricValue(text, 'cloudproxy_nodejs_heap_size_used_bytes'),
    lagP99Ms: (metricValue(text, 'cloudproxy_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    lagMaxMs: (metricValue(text, 'cloudproxy_nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
    allocations: metricValue(text, 'cloudproxy_turn_allocations'),
  };
}

// ---------------------------------------------------------------- the load

/** Runs `task(i)` for i in [0, count) with at most `limit` at once. */
async function pool(count, limit, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

function createCounters() {
  return {
    allocated: 0,
    allocateFailures: 0,
    refreshes: 0,
    refreshFailures: 0,
    channelRefreshes: 0,
    channelRefreshFailures: 0,
    echoesSent: 0,
    echoesReturned: 0,
    echoesLate: 0,
    deleted: 0,
    deleteFailures: 0,
    failures: [],
    failureCounts: {},
  };
}

/** Keeps the first 5 failures of each kind, and a count per kind and STUN code. */
function noteFailure(counters, what, index, error) {
  const kind = `${what} ${error.code ?? error.name}`;
  counters.failureCounts[kind] = (counters.failureCounts[kind] ?? 0) + 1;
  if (counters.failureCounts[kind] <= 5)
    counters.failures.push(
      `${what} #${index} at ${Math.round(performance.now())} ms: ${error.message}`,
    );
}

/** Echo traffic of one sampled allocation: sequence numbers, round trips, nothing lost. */
function attachEcho(client, counters, rtts) {
  const outstanding = new Map();
  client.onData = (channel, data) => {
    if (channel !== CHANNEL || data.length < 4) return;
    const seq = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    const sentAt = outstanding.get(seq);
    if (sentAt === undefined) return;
    outstanding.delete(seq);
    const rtt = performance.now() - sentAt;
    if (rtt > ECHO_TIMEOUT_MS) counters.echoesLate++;
    counters.echoesReturned++;
    if (rtts.length < 200_000) rtts.push(rtt);
  };
  let seq = 0;
  return {
    send: () => {
      const data = new Uint8Array(64);
      new DataView(data.buffer).setUint32(0, seq);
      outstanding.set(seq++, performance.now());
      counters.echoesSent++;
      client.sendChannelData(CHANNEL, data);
    },
    outstanding: () => outstanding.size,
  };
}

async function run(cfg) {
  // Each process (this one: client sockets; the server: relay sockets) needs one fd per allocation.
  const needed = cfg.allocations + 256;
  if (fdLimit() < needed)
    throw new Error(
      `open-file limit ${fdLimit()} < ${needed} needed for ${cfg.allocations} allocations: run \`ulimit -n 65536\` first (npm run soak does)`,
    );
  const server = await startServer();
  const peer = await startEchoPeer('127.0.0.1');
  const counters = createCounters();
  const rtts = [];
  const samples = [];
  const clients = [];
  const echoes = [];
  const started = performance.now();
  const at = () => Math.round(performance.now() - started);
  let phase = 'ramp-up';
  let sampler;
  try {
    const baseline = await sampleServer(server);
    samples.push({ atMs: 0, phase: 'baseline', ...baseline, ...snapshot(counters) });
    sampler = setInterval(() => {
      sampleServer(server)
        .then((s) => samples.push({ atMs: at(), phase, ...s, ...snapshot(counters) }))
        .catch((error) => noteFailure(counters, 'sample', samples.length, error));
    }, cfg.sampleEveryMs);
    // Ramp-up: every allocation, and a channel to the echo peer on the sample.
    await pool(cfg.allocations, RAMP_CONCURRENCY, async (i) => {
      const client = new TurnLoadClient({
        host: '127.0.0.1',
        port: server.port,
        username: USER.name,
        password: USER.password,
      });
      clients[i] = client;
      try {
        await client.bind(clientIp(Math.floor(i / cfg.perIp)));
        await client.allocate();
        counters.allocated++;
        if (i < cfg.sample) {
          await client.channelBind(CHANNEL, peer);
          echoes[i] = attachEcho(client, counters, rtts);
        }
      } catch (error) {
        counters.allocateFailures++;
        noteFailure(counters, 'allocate', i, error);
      }
    });
    const rampMs = at();
    log(`ramp-up: ${counters.allocated} allocations in ${(rampMs / 1000).toFixed(1)} s`);
    phase = 'hold';
    await hold(cfg, clients, echoes, counters, peer, at);
    const held = await sampleServer(server);
    samples.push({ atMs: at(), phase: 'end-of-hold', ...held, ...snapshot(counters) });
    // Wait for the last echoes, then delete every allocation (Refresh with LIFETIME 0).
    const drainUntil = performance.now() + ECHO_TIMEOUT_MS;
    while (echoes.some((e) => e?.outstanding()) && performance.now() < drainUntil) await sleep(50);
    phase = 'release';
    await pool(clients.length, RAMP_CONCURRENCY, async (i) => {
      if (!clients[i]?.relayed) return;
      try {
        await clients[i].refresh(0);
        counters.deleted++;
      } catch (error) {
        counters.deleteFailures++;
        noteFailure(counters, 'delete', i, error);
      }
    });
    await sleep(1000);
    const released = await sampleServer(server);
    samples.push({ atMs: at(), phase: 'released', ...released, ...snapshot(counters) });
    const lost = echoes.reduce((n, e) => n + (e?.outstanding() ?? 0), 0);
    mkdirSync(cfg.outDir, { recursive: true });
    if (counters.failures.length > 0)
      writeFileSync(path.join(cfg.outDir, `${cfg.name}.server.log`), server.output());
    return writeReport(cfg, { counters, samples, rtts, rampMs, lost, baseline, held, released });
  } finally {
    clearInterval(sampler);
    for (const client of clients) client?.close();
    await peer.close();
    await server.stop();
  }
}

function snapshot({ failures, failureCounts, ...numbers }) {
  return failures === undefined || failureCounts === undefined ? numbers : numbers;
}

/** Holds the allocations: staggered refreshes, channel refreshes and echoes on the sample. */
async function hold(cfg, clients, echoes, counters, peer, at) {
  const endAt = performance.now() + cfg.seconds * 1000;
  const tickMs = 100;
  const perTick = (clients.length * tickMs) / Math.max(1, cfg.refreshMs);
  let credit = 0;
  let cursor = 0;
  let nextEchoAt = performance.now();
  let nextChannelRefreshAt = performance.now() + CHANNEL_REFRESH_MS;
  let nextLogAt = performance.now() + 30_000;
  const inflight = new Set();
  const track = (promise) => {
    inflight.add(promise);
    void promise.finally(() => inflight.delete(promise));
  };
  while (performance.now() < endAt) {
    credit += perTick;
    for (; credit >= 1; credit--) {
      const i = cursor;
      cursor = (cursor + 1) % clients.length;
      const client = clients[i];
      if (!client?.relayed) continue;
      track(
        client.refresh().then(
          () => void counters.refreshes++,
          (error) => {
            counters.refreshFailures++;
            noteFailure(counters, 'refresh', i, error);
          },
        ),
      );
    }
    if (performance.now() >= nextEchoAt) {
      nextEchoAt += cfg.echoMs;
      for (const echo of echoes) echo?.send();
    }
    if (performance.now() >= nextChannelRefreshAt) {
      nextChannelRefreshAt += CHANNEL_REFRESH_MS;
      for (let i = 0; i < echoes.length; i++) {
        if (!echoes[i]) continue;
        track(
          clients[i].channelBind(CHANNEL, peer).then(
            () => void counters.channelRefreshes++,
            (error) => {
              counters.channelRefreshFailures++;
              noteFailure(counters, 'channel-bind', i, error);
            },
          ),
        );
      }
    }
    if (performance.now() >= nextLogAt) {
      nextLogAt += 30_000;
      log(
        `${(at() / 1000).toFixed(0)} s: refreshes ${counters.refreshes} (failed ${counters.refreshFailures}), echoes ${counters.echoesReturned}/${counters.echoesSent}`,
      );
    }
    await sleep(tickMs);
  }
  await Promise.all(inflight);
}

function log(line) {
  process.stderr.write(`[soak] ${line}\n`);
}

const cfg = settings();
log(`${cfg.allocations} allocations for ${cfg.seconds} s, sample ${cfg.sample}`);
run(cfg).then(
  (result) => {
    log(`${result.passed ? 'passed' : 'FAILED'}: ${JSON.stringify(result.checks)}`);
    log(`report: ${path.join(cfg.outDir, `${cfg.name}.md`)}`);
    process.exitCode = result.passed ? 0 : 1;
  },
  (error) => {
    log(`error: ${error.stack ?? error}`);
    process.exitCode = 2;
  },
);
