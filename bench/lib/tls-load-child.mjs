#!/usr/bin/env node
/**
 * One TURN-over-TLS (or plain TCP: `transport: 'tcp'`) load process (spawned by bench/lib/tls-load.mjs, so that its CPU is not the
 * benchmark's): N sessions, each a TLS connection with Allocate (the 401 → REALM/NONCE dance,
 * then long-term credentials), CreatePermission and ChannelBind to a UDP echo peer; then
 * ChannelData at a paced total rate for a fixed time, every session's due frames in one socket
 * write per timer tick; then up to `drainS` for the last answers.
 *
 * Usage: node bench/lib/tls-load-child.mjs '<JSON config>' (see `LoadConfig` in tls-load.mjs).
 * Prints JSON lines on stdout: `{"event":"ready"}` once every session is bound (with
 * `waitForGo`, sending then starts at SIGUSR2, else at once), `{"event":"sent"}` at the end of
 * the sending window, and one `{"event":"result", …}` line with the figures (with `waitForGo`,
 * the sessions then stay open until the next SIGUSR2, at most 10 s, so the caller can read the
 * server's state while the allocations exist); on failure `{"event":"error","error":"…"}` and
 * exit code 1.
 * @module
 */
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { encodeTurnRequest } from './turn-request.mjs';
import {
  RttHistogram,
  TurnStreamParser,
  buildFrames,
  deliveryFigures,
  frameTemplate,
  payloadRttUs,
} from './tls-load-wire.mjs';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const stun = await import(path.join(REPO_ROOT, 'packages/stun/dist/index.js'));
const { nodeStunCrypto } = await import(path.join(REPO_ROOT, 'packages/stun/dist/node-crypto.js'));

const UDP = 17;
const CHANNEL = 0x4000;
/** Frames stay unwritten (counted) while a socket buffers more than this. */
const MAX_BACKLOG_BYTES = 8 * 2 ** 20;

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const hrtimeMs = () => {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
};

/** One TLS connection with its allocation, counters and the transaction in flight. */
class Session {
  constructor(index, config) {
    this.index = index;
    this.config = config;
    this.total = 0;
    this.sent = 0;
    this.received = 0;
    this.corrupt = 0;
    this.stunOther = 0;
    this.reads = 0;
    this.pending = undefined;
    this.error = undefined;
    this.now = [0, 0];
    this.socket = undefined;
    this.parser = new TurnStreamParser(
      (buf, start, channel, length) => this.onChannelData(buf, start, channel, length),
      (frame) => this.onStun(frame),
    );
  }

  connect() {
    const { host, port, servername } = this.config;
    return new Promise((resolve, reject) => {
      const plain = this.config.transport === 'tcp';
      const socket = plain
        ? net.connect({ host, port })
        : tls.connect({ host, port, servername, rejectUnauthorized: false });
      this.socket = socket;
      socket.once(plain ? 'connect' : 'secureConnect', () => {
        socket.setNoDelay(true);
        resolve();
      });
      socket.on('data', (chunk) => {
        this.now = process.hrtime();
        this.reads++;
        this.parser.push(chunk);
        if (this.parser.failure) this.fail(`stream: ${this.parser.failure}`);
      });
      socket.on('error', (err) => {
        this.fail(`socket: ${err.message}`);
        reject(err);
      });
      socket.on('close', () => this.fail('connection closed by the server'));
    });
  }

  fail(reason) {
    if (!this.finished) this.error ??= reason;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(new Error(`session ${this.index}: ${reason}`));
  }

  onChannelData(buf, start, channel, length) {
    const rtt = channel === CHANNEL ? payloadRttUs(buf, start, length, this.now) : -1;
    if (rtt < 0) {
      this.corrupt++;
      return;
    }
    this.received++;
    load.rtt.add(rtt);
    load.lastReceiveMs = this.now[0] * 1e3 + this.now[1] / 1e6;
  }

  onStun(frame) {
    let message;
    try {
      message = stun.decodeMessage(new Uint8Array(frame.buffer, frame.byteOffset, frame.length));
    } catch {
      this.stunOther++;
      return;
    }
    const pending = this.pending;
    if (!pending || !Buffer.from(message.transactionId).equals(pending.transactionId)) {
      this.stunOther++;
      return;
    }
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.resolve(message);
  }

  request(method, attributes, auth) {
    const { user } = this.config;
    const credentials = auth
      ? {
          user: user.name,
          realm: this.realm,
          nonce: this.nonce,
          key: stun.longTermKey(
            user.name,
            this.realm,
            user.password,
            stun.PasswordAlgorithmId.Md5,
            nodeStunCrypto,
          ),
        }
      : undefined;
    const fingerprint = this.config.fingerprint !== false;
    const { transactionId, bytes } = encodeTurnRequest(
      method,
      attributes,
      credentials,
      fingerprint,
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`no answer to method ${method} in 5 s`), 5000);
      this.pending = { transactionId: Buffer.from(transactionId), resolve, reject, timer };
      this.socket.write(bytes);
    });
  }

  async authenticated(method, attributes) {
    for (let attempt = 0; ; attempt++) {
      const response = await this.request(method, attributes, true);
      if (response.messageClass === stun.MessageClass.SuccessResponse) return response;
      const error = response.get(stun.errorCode);
      const nonce = response.get(stun.nonce);
      if (error?.code === 438 && nonce && attempt === 0) {
        this.nonce = nonce;
        continue;
      }
      throw new Error(`method ${method}: ${error ? `${error.code} ${error.reason}` : 'error'}`);
    }
  }

  /** Allocate (challenge, then authenticated), CreatePermission and ChannelBind to the peer. */
  async bind() {
    await this.connect();
    const transport = [stun.attr(stun.requestedTransport, UDP)];
    const first = await this.request(stun.Method.Allocate, transport, false);
    if (first.messageClass !== stun.MessageClass.SuccessResponse) {
      this.realm = first.get(stun.realm);
      this.nonce = first.get(stun.nonce);
      if (!this.realm || !this.nonce) throw new Error('Allocate: no REALM/NONCE in the 401');
      await this.authenticated(stun.Method.Allocate, transport);
    }
    const peer = stun.attr(stun.xorPeerAddress, { family: 4, ...this.config.peer });
    await this.authenticated(stun.Method.CreatePermission, [peer]);
    await this.authenticated(stun.Method.ChannelBind, [
      stun.attr(stun.channelNumber, CHANNEL),
      peer,
    ]);
  }
}

const load = {
  rtt: new RttHistogram(),
  lastReceiveMs: 0,
  maxTickGapMs: 0,
  maxBacklogBytes: 0,
  sentPerS: [],
  receivedPerS: [],
};

/** Writes every session's due frames (one write each); returns true once all are written. */
function tick(sessions, template, startMs, durationMs) {
  const nowMs = hrtimeMs();
  const elapsed = Math.min(durationMs, nowMs - startMs);
  const time = process.hrtime();
  let done = true;
  for (const s of sessions) {
    if (s.error) continue;
    const due = Math.floor((s.total * elapsed) / durationMs);
    const count = due - s.sent;
    if (count > 0) {
      if (s.socket.writableLength <= MAX_BACKLOG_BYTES) {
        s.socket.write(buildFrames(template, count, s.sent, time));
        s.sent += count;
      }
      load.maxBacklogBytes = Math.max(load.maxBacklogBytes, s.socket.writableLength);
    }
    if (s.sent < s.total) done = false;
  }
  const second = Math.floor(elapsed / 1000);
  load.sentPerS[second] = sessions.reduce((a, s) => a + s.sent, 0);
  load.receivedPerS[second] = sessions.reduce((a, s) => a + s.received, 0);
  return done || elapsed >= durationMs;
}

function send(sessions, config, template) {
  const durationMs = config.durationS * 1000;
  const startMs = hrtimeMs();
  const cpu0 = process.cpuUsage();
  let lastTickMs = startMs;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = hrtimeMs();
      load.maxTickGapMs = Math.max(load.maxTickGapMs, now - lastTickMs);
      lastTickMs = now;
      if (!tick(sessions, template, startMs, durationMs)) return;
      clearInterval(timer);
      const cpu = process.cpuUsage(cpu0);
      resolve({ startMs, sentMs: hrtimeMs(), cpuS: (cpu.user + cpu.system) / 1e6 });
    }, config.tickMs);
  });
}

async function drain(sessions, drainS) {
  const deadline = hrtimeMs() + drainS * 1000;
  const back = () => sessions.every((s) => s.error || s.received + s.corrupt >= s.sent);
  while (!back() && hrtimeMs() < deadline) await new Promise((r) => setTimeout(r, 5));
}

function result(sessions, config, window) {
  const sum = (f) => sessions.reduce((a, s) => a + f(s), 0);
  const offered = sum((s) => s.total);
  const received = sum((s) => s.received);
  const sendingS = (window.sentMs - window.startMs) / 1000;
  const spanS = Math.max(sendingS, (load.lastReceiveMs - window.startMs) / 1000);
  const cpuTotal = process.cpuUsage(window.cpu0);
  return {
    event: 'result',
    sessions: sessions.length,
    rate: config.rate,
    durationS: config.durationS,
    offered,
    sent: sum((s) => s.sent),
    received,
    ...deliveryFigures(offered, received, spanS),
    sendingS,
    lastReceiveS: (load.lastReceiveMs - window.startMs) / 1000,
    corrupt: sum((s) => s.corrupt),
    reads: sum((s) => s.reads),
    stunOther: sum((s) => s.stunOther),
    sessionErrors: sessions.filter((s) => s.error).map((s) => `${s.index}: ${s.error}`),
    receivedBySession: sessions.map((s) => s.received),
    rtt: load.rtt.toJSON(),
    clientCpuS: window.cpuS,
    clientCpuPercent: (window.cpuS / Math.max(sendingS, 1e-3)) * 100,
    clientCpuTotalS: (cpuTotal.user + cpuTotal.system) / 1e6,
    maxTickGapMs: load.maxTickGapMs,
    maxBacklogBytes: load.maxBacklogBytes,
    sentPerS: load.sentPerS,
    receivedPerS: load.receivedPerS,
  };
}

async function main(config) {
  const sessions = Array.from({ length: config.sessions }, (_, i) => new Session(i, config));
  const perSession = Math.floor((config.rate * config.durationS) / config.sessions);
  const extra = Math.round(config.rate * config.durationS) - perSession * config.sessions;
  sessions.forEach((s, i) => (s.total = perSession + (i < extra ? 1 : 0)));
  const cpu0 = process.cpuUsage();
  const t0 = hrtimeMs();
  await Promise.all(sessions.map((s) => s.bind()));
  const template = frameTemplate(CHANNEL, config.payloadBytes);
  if (config.waitForGo) {
    const go = new Promise((resolve) => process.once('SIGUSR2', resolve));
    emit({ event: 'ready', setupMs: hrtimeMs() - t0 });
    await go;
  }
  const window = { ...(await send(sessions, config, template)), cpu0 };
  emit({ event: 'sent', sendingS: (window.sentMs - window.startMs) / 1000 });
  await drain(sessions, config.drainS);
  for (const s of sessions) s.finished = true;
  const close = config.waitForGo
    ? new Promise((resolve) => {
        process.once('SIGUSR2', resolve);
        setTimeout(resolve, 10_000);
      })
    : undefined;
  emit(result(sessions, config, window));
  await close;
  for (const s of sessions) s.socket.destroy();
}

const DEFAULTS = { sessions: 10, payloadBytes: 100, tickMs: 2, drainS: 1, fingerprint: true };

main({ ...DEFAULTS, ...JSON.parse(process.argv[2] ?? '{}') }).then(
  () => process.exit(0),
  (err) => {
    emit({ event: 'error', error: String(err?.message ?? err) });
    process.exit(1);
  },
);
