#!/usr/bin/env node
// One-port benchmark: TURN over TLS relayed through the shared HTTPS port of `cloudproxy start`
// (TLS terminated by the one-port listener, routed by ALPN or first bytes, then handed to the
// TURN server) against the dedicated TURN TLS port of the same process, in the same run. Load:
// coturn's `turnutils_uclient -t -S` (TLS, ChannelData) to a `turnutils_peer` UDP echo peer,
// paced, the two ports alternating for several rounds. Reported per port: median relayed
// messages/s over the run and the server's CPU time per relayed message (utime+stime of the
// `cloudproxy start` process from /proc/PID/stat). Results: bench/results/one-port.{md,json}.
//
// Usage: node bench/one-port.mjs [--rounds N] [--clients N] [--messages N] [--interval MS]
//   (run after `npm run build`; bounded to about two minutes with the defaults).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { processUsage } from './lib/proc.mjs';
import { freePorts } from './lib/net.mjs';
import { median } from './lib/stats.mjs';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const UCLIENT_BIN = '/usr/bin/turnutils_uclient';
const PEER_BIN = '/usr/bin/turnutils_peer';
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const RUN_TIMEOUT_MS = 25_000;

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const opts = {
  rounds: option('rounds', 3),
  clients: option('clients', 10),
  messages: option('messages', 1000),
  length: 100,
  intervalMs: option('interval', 2),
  out: path.join(REPO_ROOT, 'bench/results'),
};

/** CPU seconds (utime+stime, all threads) of `pid`, from /proc/PID/stat. */
function cpuSeconds(pid) {
  const usage = processUsage(pid);
  if (!usage) throw new Error(`process ${pid} is gone`);
  return usage.cpuS;
}

function start(file, args) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk) => (output = (output + chunk.toString()).slice(-200_000));
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  return { child, output: () => output };
}

function stop(proc) {
  return new Promise((resolve) => {
    if (proc.child.exitCode !== null) return resolve();
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
    proc.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.child.kill('SIGTERM');
  });
}

function api(port, ca, method, urlPath, token, body) {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method,
        ca,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${token}`,
          ...(text ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () =>
          resolve({ status: res.statusCode, json: data ? JSON.parse(data) : undefined }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout ${urlPath}`)));
    req.on('error', reject);
    req.end(text);
  });
}

async function waitHealthy(port, certFile, proc) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const ca = readFileSync(certFile, 'utf8');
      const res = await api(port, ca, 'GET', '/healthz', ADMIN_TOKEN);
      if (res.status === 200) return ca;
    } catch {
      // not up yet
    }
    if (proc.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`cloudproxy start did not come up:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function runUclient(port, peerPort, user, messages = opts.messages) {
  const args = ['-t', '-S', '-c', '-e', '127.0.0.1', '-r', String(peerPort)];
  args.push('-m', String(opts.clients), '-n', String(messages), '-l', String(opts.length));
  args.push('-z', String(opts.intervalMs), '-u', user.name, '-W', user.secret);
  args.push('-p', String(port), '127.0.0.1');
  return new Promise((resolve) => {
    const child = spawn(UCLIENT_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('exit', () => {
      clearTimeout(timer);
      const counts = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(output);
      // Peak rate: the largest one-second step of the progress lines' received count.
      const progress = [...output.matchAll(/msz=\d+, tot_send_msgs=\d+, tot_recv_msgs=(\d+)/g)];
      let peakPerS = 0;
      for (let i = 1; i < progress.length; i++)
        peakPerS = Math.max(peakPerS, Number(progress[i][1]) - Number(progress[i - 1][1]));
      const sent = Number(counts?.[1] ?? 0);
      resolve({ sent, received: Number(counts?.[2] ?? 0), peakPerS, output });
    });
  });
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-one-port-'));
  const [httpsPort, turnPort, turnTlsPort, peerPort] = await freePorts(4);
  const peer = start(PEER_BIN, ['-L', '127.0.0.1', '-p', String(peerPort)]);
  const server = start(process.execPath, [
    path.join(REPO_ROOT, 'bin/cloudproxy.js'),
    'start',
    '--data-dir',
    dataDir,
    '--https-port',
    String(httpsPort),
    '--turn-port',
    String(turnPort),
    '--turn-tls-port',
    String(turnTlsPort),
    '--listen-ip',
    '127.0.0.1',
    '--relay-ip',
    '127.0.0.1',
    '--allow-loopback-peers',
    '--admin-token',
    ADMIN_TOKEN,
  ]);
  const runs = [];
  try {
    await waitHealthy(httpsPort, path.join(dataDir, 'tls', 'cert.pem'), server);
    // The relay's own TURN REST secret (usernames outside any app): no per-app quotas apply.
    const secret = readFileSync(path.join(dataDir, 'turn-secret'), 'utf8').trim();
    const user = { name: 'bench', secret };
    const ports = { shared: httpsPort, dedicated: turnTlsPort };
    // Warm-up (not counted): both paths compiled and TLS sessions set up before measuring.
    for (const port of [ports.shared, ports.dedicated]) await runUclient(port, peerPort, user, 100);
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? ['shared', 'dedicated'] : ['dedicated', 'shared'];
      for (const which of order) {
        const cpuBefore = cpuSeconds(server.child.pid);
        const t0 = performance.now();
        const result = await runUclient(ports[which], peerPort, user);
        const seconds = (performance.now() - t0) / 1000;
        const cpuS = cpuSeconds(server.child.pid) - cpuBefore;
        // Each message crosses the relay twice (client → peer, peer → client).
        const relayed = result.sent + result.received;
        runs.push({
          round,
          port: which,
          sent: result.sent,
          received: result.received,
          seconds,
          msgPerS: result.peakPerS,
          cpuUsPerRelayedMsg: relayed > 0 ? (cpuS * 1e6) / relayed : NaN,
        });
        process.stderr.write(`round ${round} ${which}: ${JSON.stringify(runs.at(-1))}\n`);
        if (result.received === 0) process.stderr.write(`${result.output.slice(-1500)}\n`);
      }
    }
  } finally {
    await stop(server);
    await stop(peer);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const summary = {};
  for (const which of ['shared', 'dedicated']) {
    const mine = runs.filter((r) => r.port === which);
    summary[which] = {
      medianMsgPerS: median(mine.map((r) => r.msgPerS)),
      medianCpuUsPerRelayedMsg: median(mine.map((r) => r.cpuUsPerRelayedMsg)),
      lost: mine.reduce((n, r) => n + (r.sent - r.received), 0),
    };
  }
  const cpuRatio =
    summary.shared.medianCpuUsPerRelayedMsg / summary.dedicated.medianCpuUsPerRelayedMsg;
  const rateRatio = summary.shared.medianMsgPerS / summary.dedicated.medianMsgPerS;
  const load = opts.clients * opts.messages;
  const md = [
    '# One port: TURN over TLS on the shared HTTPS port vs the dedicated TLS port',
    '',
    `${new Date().toISOString()}, ${os.cpus()[0]?.model}, ${os.cpus().length} CPUs, Node ${process.version}; load average at start ${os.loadavg()[0].toFixed(2)}.`,
    `Load per run: turnutils_uclient -t -S, ${opts.clients} clients × ${opts.messages} messages of ${opts.length} B (${load} in all), one every ${opts.intervalMs} ms per client, to a UDP echo peer; ${opts.rounds} rounds, ports alternating.`,
    '',
    '| port | median peak msg/s (received, best second) | median server CPU µs per relayed message | messages lost |',
    '| --- | --- | --- | --- |',
    ...['shared', 'dedicated'].map(
      (w) =>
        `| ${w === 'shared' ? 'shared HTTPS port (demultiplexed)' : 'dedicated TURN TLS port'} | ${summary[w].medianMsgPerS.toFixed(0)} | ${summary[w].medianCpuUsPerRelayedMsg.toFixed(2)} | ${summary[w].lost} |`,
    ),
    '',
    `Shared / dedicated: CPU per message ${cpuRatio.toFixed(3)}×, msg/s ${rateRatio.toFixed(3)}×.`,
    '',
  ].join('\n');
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(path.join(opts.out, 'one-port.md'), md);
  writeFileSync(
    path.join(opts.out, 'one-port.json'),
    `${JSON.stringify({ opts, runs, summary, cpuRatio, rateRatio }, null, 2)}\n`,
  );
  process.stdout.write(`${md}\nwritten: bench/results/one-port.{md,json}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
