/**
 * The TURN-over-TLS load generator of the `tls` section: ChannelData over TLS at a paced rate,
 * relayed to a UDP echo peer and back, counted and timed per message by the benchmark's own
 * stream parser (bench/lib/tls-load-wire.mjs). The sessions run in one or more child processes
 * (bench/lib/tls-load-child.mjs), so the load's CPU is neither the benchmark's nor hidden: each
 * process reports its own.
 *
 * All processes bind their sessions first; then `onGo` runs (the caller samples the server),
 * every process starts sending at once, `onSent` runs when the last one ends its window, `onDone`
 * once every process has drained (its sessions, and so the server's allocations, still open),
 * and then the merged figures come back.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startProcess } from './proc.mjs';
import { RttHistogram, deliveryFigures } from './tls-load-wire.mjs';

export { RttHistogram, TurnStreamParser } from './tls-load-wire.mjs';

const CHILD = path.join(import.meta.dirname, 'tls-load-child.mjs');

/**
 * @typedef {object} LoadConfig
 * @property {string} host the server's TLS address
 * @property {number} port the server's TLS port
 * @property {{ address: string, port: number }} peer the UDP echo peer
 * @property {{ name: string, password: string }} user long-term credentials
 * @property {number} rate messages/s offered over all sessions
 * @property {number} durationS seconds of sending
 * @property {number} [sessions] TLS connections (default 10)
 * @property {number} [processes] child processes sharing the sessions (default 1)
 * @property {number} [payloadBytes] ChannelData payload (default 100, ≥ 16)
 * @property {number} [tickMs] pacing timer (default 2)
 * @property {number} [drainS] longest wait for the last answers (default 1)
 * @property {string} [servername] TLS SNI
 * @property {'tls' | 'tcp'} [transport] plain TCP instead of TLS (default 'tls')
 */

/** Splits `total` into `parts` integers differing by at most one, the larger first. */
export function splitEvenly(total, parts) {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total - base * parts ? 1 : 0));
}

/**
 * Runs the load; resolves the merged figures (see `mergeResults`).
 * @param {LoadConfig} config
 * @param {{ onGo?: () => void, onSent?: () => void, onDone?: () => void, timeoutS?: number }}
 *   [hooks]
 */
export async function runTlsLoad(config, hooks = {}) {
  const sessions = config.sessions ?? 10;
  const processes = Math.min(config.processes ?? 1, sessions);
  const split = splitEvenly(sessions, processes);
  const children = split.map((n) =>
    startChild({ ...config, sessions: n, rate: (config.rate * n) / sessions, waitForGo: true }),
  );
  const timeoutS = hooks.timeoutS ?? 20 + config.durationS + (config.drainS ?? 1);
  const deadline = setTimeout(() => {
    for (const c of children) c.proc.child.kill('SIGKILL');
  }, timeoutS * 1000);
  try {
    await Promise.all(children.map((c) => c.ready));
    hooks.onGo?.();
    for (const c of children) c.proc.child.kill('SIGUSR2');
    await Promise.all(children.map((c) => c.sent));
    hooks.onSent?.();
    const results = await Promise.all(children.map((c) => c.result));
    hooks.onDone?.();
    for (const c of children) c.proc.child.kill('SIGUSR2');
    return mergeResults(results);
  } finally {
    clearTimeout(deadline);
    await Promise.all(children.map((c) => c.proc.stop(1000)));
  }
}

/** One child process and promises of its `ready`, `sent` and `result` lines. */
function startChild(config) {
  const waiters = { ready: deferred(), sent: deferred(), result: deferred() };
  const proc = startProcess(process.execPath, [CHILD, JSON.stringify(config)], {
    onLine: (line) => {
      if (!line.startsWith('{')) return;
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event.event === 'error') {
        for (const w of Object.values(waiters)) w.reject(new Error(`load: ${event.error}`));
      } else waiters[event.event]?.resolve(event);
    },
  });
  void proc.done.then((exit) => {
    const why = new Error(
      `load process ended (${JSON.stringify(exit)}) early:\n${proc.output().slice(-1500)}`,
    );
    for (const w of Object.values(waiters)) w.reject(why);
  });
  // Rejections after the first are expected; each promise is awaited where it matters.
  for (const w of Object.values(waiters)) w.promise.catch(() => undefined);
  return {
    proc,
    ready: waiters.ready.promise,
    sent: waiters.sent.promise,
    result: waiters.result.promise,
  };
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The figures of several load processes as one: counts added, round trips merged from their
 * histograms (µs), msg/s = all received ÷ the longest span (sending window, or up to the last
 * answer when later), client CPU added (% of one core) with the busiest process's share.
 */
export function mergeResults(results) {
  const sum = (f) => results.reduce((a, r) => a + f(r), 0);
  const rtt = new RttHistogram();
  for (const r of results) rtt.merge(r.rtt);
  const spanS = Math.max(...results.map((r) => Math.max(r.sendingS, r.lastReceiveS)));
  const sendingS = Math.max(...results.map((r) => r.sendingS));
  const offered = sum((r) => r.offered);
  const received = sum((r) => r.received);
  const perSecond = (key) => {
    const out = [];
    for (const r of results) r[key].forEach((v, i) => (out[i] = (out[i] ?? 0) + (v ?? 0)));
    return out;
  };
  return {
    processes: results.length,
    sessions: sum((r) => r.sessions),
    offered,
    sent: sum((r) => r.sent),
    received,
    ...deliveryFigures(offered, received, spanS),
    sendingS,
    lastReceiveS: Math.max(...results.map((r) => r.lastReceiveS)),
    corrupt: sum((r) => r.corrupt),
    reads: sum((r) => r.reads),
    stunOther: sum((r) => r.stunOther),
    sessionErrors: results.flatMap((r) => r.sessionErrors),
    receivedBySession: results.flatMap((r) => r.receivedBySession),
    rtt: rtt.summary(),
    clientCpuPercent: sum((r) => r.clientCpuPercent),
    clientCpuMaxPercent: Math.max(...results.map((r) => r.clientCpuPercent)),
    maxTickGapMs: Math.max(...results.map((r) => r.maxTickGapMs)),
    maxBacklogBytes: Math.max(...results.map((r) => r.maxBacklogBytes)),
    sentPerS: perSecond('sentPerS'),
    receivedPerS: perSecond('receivedPerS'),
  };
}

/**
 * Datagrams the kernel dropped at full receive buffers, per local UDP port, from the text of
 * /proc/net/udp or /proc/net/udp6 (the last column, `drops`, of each socket's line; ports in
 * hex after the last ':' of the local address).
 * @returns {Map<number, number>} port → drops (summed over the sockets of a port)
 */
export function parseUdpDrops(text) {
  const drops = new Map();
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13) continue;
    const local = fields[1];
    const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    drops.set(port, (drops.get(port) ?? 0) + Number(fields[fields.length - 1]));
  }
  return drops;
}

/** This network namespace's UDP drops per local port, IPv4 and IPv6 sockets together. */
export function udpDrops() {
  const drops = new Map();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const [port, n] of parseUdpDrops(text)) drops.set(port, (drops.get(port) ?? 0) + n);
  }
  return drops;
}

/**
 * Drops between two `udpDrops()` samples: at `port` (the echo peer) and at every other socket
 * (the relay's, mostly; sockets opened after `before` count from zero).
 */
export function dropsBetween(before, after, port) {
  let others = 0;
  for (const [p, n] of after) if (p !== port) others += n - (before.get(p) ?? 0);
  return { atPeer: (after.get(port) ?? 0) - (before.get(port) ?? 0), elsewhere: others };
}
