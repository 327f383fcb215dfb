/**
 * coturn's client tools as test clients: `turnutils_uclient` (allocations + relayed traffic),
 * `turnutils_stunclient` (Binding) and `turnutils_peer` (UDP echo peer).
 *
 * What uclient does (coturn 4.6, src/apps/uclient/uclient.c), which the parsing relies on:
 * - every session starts sending at a random moment 1–6 s after the allocations are made, then
 *   sends `-n` messages `-z` ms apart (up to 50 per 1-ms timer tick to catch up; `-z 0` floods);
 * - without `-c` every client also opens an "RTCP" session (so `-m 2` is 4 sessions); with `-y`
 *   (client to client) `-m` is rounded up to an even number (a multiple of 4 without `-c`);
 * - once a session has sent everything it waits until all messages arrived, or 10 s;
 * - it prints a progress line every second (`…: start_mclient: msz=…, tot_send_msgs=…`) and a
 *   summary: `tot_send_msgs=N, tot_recv_msgs=M`, `Total lost packets L (P%)`,
 *   `Average round trip delay D ms; min = a ms, max = b ms` (millisecond resolution: loopback
 *   figures are mostly 0; with `-y` the "round trip" is one-way client → relay → relay → client);
 * - it exits 255 ("ERROR: Cannot complete Allocation") when an Allocate is refused, for example
 *   with a wrong password; it does not print the 401 itself.
 */
import dgram from 'node:dgram';
import { freePort } from './ports.js';
import {
  runProcess,
  startBackground,
  type BackgroundProcess,
  type RunResult,
} from './processes.js';

export const UCLIENT_BIN = '/usr/bin/turnutils_uclient';
export const STUNCLIENT_BIN = '/usr/bin/turnutils_stunclient';
export const PEER_BIN = '/usr/bin/turnutils_peer';

export interface UclientSummary {
  sent: number;
  received: number;
  sentBytes: number;
  receivedBytes: number;
  lost: number;
  lostPercent: number;
  sendDropped: number;
  rttAvgMs: number;
  rttMinMs: number;
  rttMaxMs: number;
  jitterAvgMs: number;
}

export interface UclientResult extends RunResult {
  summary: UclientSummary | undefined;
  errors: string[];
}

function num(text: string | undefined): number {
  if (text === undefined) return NaN;
  return Number(text);
}

/** Parses uclient's final summary; undefined when it did not get that far. */
export function parseUclientSummary(output: string): UclientSummary | undefined {
  const counts = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(output);
  const bytes = /start_mclient: tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)/.exec(output);
  const lost =
    /Total lost packets (\d+) \(([\d.naif-]+)%\), total send dropped (\d+) \(([\d.naif-]+)%\)/.exec(
      output,
    );
  const rtt = /Average round trip delay ([\d.naif-]+) ms; min = (\d+) ms, max = (\d+) ms/.exec(
    output,
  );
  const jitter = /Average jitter ([\d.naif-]+) ms/.exec(output);
  if (!counts || !lost) return undefined;
  const sent = num(counts[1]);
  const received = num(counts[2]);
  const rttMin = num(rtt?.[2]);
  return {
    sent,
    received,
    sentBytes: num(bytes?.[1]),
    receivedBytes: num(bytes?.[2]),
    lost: num(lost[1]),
    lostPercent: sent > 0 ? (num(lost[1]) / sent) * 100 : 0,
    sendDropped: num(lost[3]),
    rttAvgMs: num(rtt?.[1]),
    // uclient prints 4294967295 as the minimum when nothing arrived.
    rttMinMs: rttMin === 0xffffffff ? NaN : rttMin,
    rttMaxMs: num(rtt?.[3]),
    jitterAvgMs: num(jitter?.[1]),
  };
}

export interface UclientOptions {
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  /** Send indications (`-s`) instead of ChannelData. */
  sendIndications?: boolean;
  /** `-y`: the clients talk to each other through their relays (no peer needed). */
  clientToClient?: boolean;
  /** Echo peer address (`-e`, `-r`), when not client to client. */
  peer?: { host: string; port: number };
  clients?: number;
  messages?: number;
  length?: number;
  /** Per-session interval in ms (`-z`); uclient's default is 20. */
  intervalMs?: number;
  /** Long-term credentials (`-u`, `-w`). */
  user?: { name: string; password: string };
  /** REST secret (`-W`) with the user name (`-u`) whose expiry uclient prepends itself. */
  restSecret?: { secret: string; name: string };
  /** Keep the RTCP companion sessions (default: off, `-c`). */
  rtcp?: boolean;
  timeoutMs?: number;
  extraArgs?: string[];
}

export function uclientArgs(opts: UclientOptions): string[] {
  const args: string[] = [];
  if (opts.transport === 'tcp') args.push('-t');
  if (opts.transport === 'tls') args.push('-t', '-S');
  if (opts.sendIndications) args.push('-s');
  if (!opts.rtcp) args.push('-c');
  if (opts.clientToClient) args.push('-y');
  if (opts.peer) args.push('-e', opts.peer.host, '-r', String(opts.peer.port));
  args.push('-m', String(opts.clients ?? 1));
  args.push('-n', String(opts.messages ?? 10));
  args.push('-l', String(opts.length ?? 100));
  if (opts.intervalMs !== undefined) args.push('-z', String(opts.intervalMs));
  if (opts.user) args.push('-u', opts.user.name, '-w', opts.user.password);
  if (opts.restSecret) args.push('-u', opts.restSecret.name, '-W', opts.restSecret.secret);
  args.push('-p', String(opts.port));
  args.push(...(opts.extraArgs ?? []));
  args.push(opts.host);
  return args;
}

/** Runs turnutils_uclient to completion (bounded, default 40 s) and parses its summary. */
export async function runUclient(opts: UclientOptions): Promise<UclientResult> {
  const result = await runProcess(UCLIENT_BIN, uclientArgs(opts), opts.timeoutMs ?? 40_000);
  const errors = result.output.split('\n').filter((line) => /ERROR|error/.test(line));
  return { ...result, summary: parseUclientSummary(result.output), errors };
}

/** Runs turnutils_stunclient and extracts the reflexive (mapped) address it reports. */
export async function runStunclient(
  host: string,
  port: number,
  timeoutMs = 10_000,
): Promise<RunResult & { mapped: { address: string; port: number } | undefined }> {
  const result = await runProcess(STUNCLIENT_BIN, ['-p', String(port), host], timeoutMs);
  const match = /UDP reflexive addr: (\S+):(\d+)/.exec(result.output);
  const mapped = match ? { address: match[1]!, port: Number(match[2]) } : undefined;
  return { ...result, mapped };
}

export interface EchoPeer extends BackgroundProcess {
  host: string;
  port: number;
}

/** Resolves when a datagram sent to host:port is echoed back; rejects after `timeoutMs`. */
export function waitForUdpEcho(host: string, port: number, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const probe = Buffer.from('echo-probe');
    const finish = (err?: Error): void => {
      clearInterval(resend);
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve();
    };
    socket.on('message', (msg) => {
      if (msg.equals(probe)) finish();
    });
    socket.on('error', (err) => {
      finish(err);
    });
    const send = (): void => {
      socket.send(probe, port, host);
    };
    const resend = setInterval(send, 100);
    const timer = setTimeout(() => {
      finish(new Error(`UDP echo peer ${host}:${port} silent for ${timeoutMs} ms`));
    }, timeoutMs);
    send();
  });
}

/** Starts `turnutils_peer` (a UDP echo server) on a free loopback port and waits until it echoes. */
export async function startEchoPeer(host = '127.0.0.1'): Promise<EchoPeer> {
  const port = await freePort(host);
  const peer = startBackground(PEER_BIN, ['-L', host, '-p', String(port)]);
  try {
    await waitForUdpEcho(host, port);
  } catch (err) {
    await peer.stop();
    throw new Error(`${(err as Error).message}\n${peer.output()}`, { cause: err });
  }
  return { ...peer, host, port };
}

/** A readable description of a uclient run, for assertion messages. */
export function describeRun(result: RunResult): string {
  const tail = result.output.split('\n').slice(-25).join('\n');
  return `${result.command}\nexit ${result.code} signal ${result.signal} timedOut ${result.timedOut} in ${result.durationMs} ms\n${tail}`;
}
