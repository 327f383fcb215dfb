/**
 * Starts a TURN server for a test from implementation-neutral options: ours
 * (`node bin/cloudproxy.js turn …`, the default) or coturn's `turnserver` (`TURN_IMPL=coturn`),
 * with the same coturn-style flags. Running every test against coturn proves the test right;
 * running it against ours proves the server right.
 *
 * Facts about coturn 4.6 (Debian) that shape the coturn command line:
 * - it reads /etc/turnserver.conf unless given `-c`: we pass an empty config file from a temp dir;
 * - it writes /var/run/turnserver.pid and opens /var/lib/turn/turndb unless told otherwise: we
 *   pass `--pidfile` and `--userdb` into the temp dir (never touch the system service's files);
 * - `--no-cli` (else it listens on TCP 5766), `--no-dtls` (else DTLS on the TLS port),
 *   `--no-rfc5780` (else it may open alternative ports), `--log-file stdout --simple-log`;
 * - it cannot serve static users (`--user`) and a REST secret (`--use-auth-secret`) from one
 *   process: `startTurnServer` refuses that combination for coturn (see `supportsCombinedAuth`);
 * - Debian's build has no Prometheus support (`--prometheus` is unknown to it).
 *
 * Chromium and loopback (checked with coturn): Chromium binds its UDP ICE sockets to a
 * non-loopback interface (eth0, 192.0.2.2 on these machines) even to reach 127.0.0.1, so a
 * server listening on 127.0.0.1 sees TURN/UDP clients as 192.0.2.2:port (coturn's log:
 * "local 127.0.0.1:P, remote 192.0.2.2:Q"); its TURN/TCP and TLS connections come from
 * 127.0.0.1. Listening on 127.0.0.1 alone works (Linux delivers the answers to 192.0.2.2 through
 * `lo`), so a server must not assume loopback listeners only see loopback clients. Relay
 * addresses stay on 127.0.0.1 (`--relay-ip 127.0.0.1`) and both relay candidates are loopback
 * addresses, hence `--allow-loopback-peers`. Listening on 0.0.0.0 is not needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';
import { bindingRequest, tcpTransaction, udpTransaction } from './stun.js';

export type TurnImpl = 'cloudproxy' | 'coturn';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const COTURN_BIN = process.env['COTURN_BIN'] ?? '/usr/bin/turnserver';

/** The implementation under test: env TURN_IMPL (`coturn` or `cloudproxy`, the default). */
export function turnImpl(): TurnImpl {
  const value = process.env['TURN_IMPL'] ?? 'cloudproxy';
  if (value !== 'coturn' && value !== 'cloudproxy') {
    throw new Error(`TURN_IMPL must be "coturn" or "cloudproxy", not "${value}"`);
  }
  return value;
}

/** Whether one process can serve static users and a REST secret at once (coturn cannot). */
export function supportsCombinedAuth(impl: TurnImpl = turnImpl()): boolean {
  return impl === 'cloudproxy';
}

/** Whether the implementation serves Prometheus metrics (Debian's coturn is built without). */
export function supportsPrometheus(impl: TurnImpl = turnImpl()): boolean {
  return impl === 'cloudproxy';
}

export interface TurnUser {
  name: string;
  password: string;
}

export interface TurnServerOptions {
  impl?: TurnImpl;
  /** `--listening-ip`, repeatable; default ['127.0.0.1']. */
  listeningIps?: string[];
  /** `--relay-ip`; default 127.0.0.1 (or ::1 when listening only on IPv6). */
  relayIp?: string;
  realm?: string;
  /** Static long-term users (`--lt-cred-mech --user name:password`). */
  users?: TurnUser[];
  /** REST API secret (`--use-auth-secret --static-auth-secret S`). */
  authSecret?: string;
  /** Anonymous access (`--no-auth`; tests only). */
  noAuth?: boolean;
  /** Certificate and key files: enables TLS on a free `tlsPort`. */
  tls?: { certFile: string; keyFile: string };
  /** Default true. */
  udp?: boolean;
  /** Default true. */
  tcp?: boolean;
  /** `--allow-loopback-peers`; default true (every test relays between loopback addresses). */
  allowLoopbackPeers?: boolean;
  minPort?: number;
  maxPort?: number;
  /** `--prometheus --prometheus-port N` on a free port (cloudproxy only). */
  prometheus?: boolean;
  /** Extra arguments appended as they are. */
  extraArgs?: string[];
  /** Readiness timeout in ms; default 15 000. */
  readyTimeoutMs?: number;
}

export interface TurnServerHandle {
  impl: TurnImpl;
  /** Address clients should use (first listening IP; 127.0.0.1 when listening on 0.0.0.0). */
  host: string;
  udpPort: number;
  /** 0 when TLS is off. */
  tlsPort: number;
  /** 0 when Prometheus is off. */
  prometheusPort: number;
  pid: number;
  realm: string;
  /** The command line used (for error messages). */
  command: string[];
  /** Captured stdout+stderr so far (last ~256 KB). */
  output(): string;
  /** SIGTERM, wait up to 5 s, then SIGKILL; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_REALM = 'cloudproxy.test';
const OUTPUT_LIMIT = 256 * 1024;

/** Children still running: killed when the test process exits, even after a crash. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

function clientHost(listeningIps: string[]): string {
  const first = listeningIps[0] ?? '127.0.0.1';
  if (first === '0.0.0.0') return '127.0.0.1';
  if (first === '::') return '::1';
  return first;
}

interface Ports {
  listening: number;
  tls: number;
  prometheus: number;
}

function commonArgs(opts: TurnServerOptions, ports: Ports, realm: string): string[] {
  const args: string[] = [];
  for (const ip of opts.listeningIps ?? ['127.0.0.1']) args.push('--listening-ip', ip);
  args.push('--listening-port', String(ports.listening));
  const relayIp =
    opts.relayIp ?? (clientHost(opts.listeningIps ?? []) === '::1' ? '::1' : '127.0.0.1');
  args.push('--relay-ip', relayIp);
  if (opts.minPort !== undefined) args.push('--min-port', String(opts.minPort));
  if (opts.maxPort !== undefined) args.push('--max-port', String(opts.maxPort));
  args.push('--realm', realm);
  if (opts.noAuth) {
    args.push('--no-auth');
  } else {
    if (opts.users?.length) {
      args.push('--lt-cred-mech');
      for (const user of opts.users) args.push('--user', `${user.name}:${user.password}`);
    }
    if (opts.authSecret !== undefined) {
      args.push('--use-auth-secret', '--static-auth-secret', opts.authSecret);
    }
  }
  if (opts.tls) {
    args.push('--tls-listening-port', String(ports.tls));
    args.push('--cert', opts.tls.certFile, '--pkey', opts.tls.keyFile);
  } else {
    args.push('--no-tls');
  }
  if (opts.udp === false) args.push('--no-udp');
  if (opts.tcp === false) args.push('--no-tcp');
  if (opts.allowLoopbackPeers ?? true) args.push('--allow-loopback-peers');
  if (opts.prometheus) args.push('--prometheus', '--prometheus-port', String(ports.prometheus));
  return args;
}

function buildCommand(
  impl: TurnImpl,
  opts: TurnServerOptions,
  ports: Ports,
  realm: string,
  workDir: string,
): string[] {
  // TURN_EXTRA_ARGS (space-separated) reaches every server, e.g. TURN_EXTRA_ARGS=--verbose.
  const envArgs = (process.env['TURN_EXTRA_ARGS'] ?? '').split(' ').filter(Boolean);
  const args = [...commonArgs(opts, ports, realm), ...envArgs];
  if (impl === 'cloudproxy') {
    return [
      process.execPath,
      path.join(REPO_ROOT, 'bin/cloudproxy.js'),
      'turn',
      ...args,
      ...(opts.extraArgs ?? []),
    ];
  }
  const conf = path.join(workDir, 'turnserver.conf');
  writeFileSync(conf, '# empty: keeps coturn away from /etc/turnserver.conf\n');
  return [
    COTURN_BIN,
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
    ...(opts.extraArgs ?? []),
  ];
}

function validate(impl: TurnImpl, opts: TurnServerOptions): void {
  const hasUsers = (opts.users?.length ?? 0) > 0;
  const hasSecret = opts.authSecret !== undefined;
  if (!opts.noAuth && !hasUsers && !hasSecret) {
    throw new Error('startTurnServer: give users, authSecret or noAuth');
  }
  if (hasUsers && hasSecret && !supportsCombinedAuth(impl)) {
    throw new Error(`${impl} cannot serve static users and a REST secret from one process`);
  }
  if (opts.prometheus && !supportsPrometheus(impl)) {
    throw new Error(`${impl} (as installed) has no Prometheus support`);
  }
  if (opts.udp === false && opts.tcp === false && !opts.tls) {
    throw new Error('startTurnServer: no listener left (udp, tcp and tls all off)');
  }
}

function tcpConnects(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(false);
    });
  });
}

/** One readiness probe: a Binding answered over UDP (or TCP with --no-udp), the TLS port open. */
async function probe(host: string, opts: TurnServerOptions, ports: Ports): Promise<boolean> {
  try {
    if (opts.udp !== false) {
      await udpTransaction(host, ports.listening, bindingRequest(), 400, 100);
    } else if (opts.tcp !== false) {
      await tcpTransaction(host, ports.listening, bindingRequest(), 400);
    }
  } catch {
    return false;
  }
  if (opts.tls && !(await tcpConnects(host, ports.tls, 400))) return false;
  if (opts.prometheus && !(await tcpConnects('127.0.0.1', ports.prometheus, 400))) return false;
  return true;
}

class StartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

function looksLikeAddressInUse(output: string): boolean {
  return /EADDRINUSE|address already in use|cannot bind/i.test(output);
}

async function startOnce(
  impl: TurnImpl,
  opts: TurnServerOptions,
  ports: Ports,
): Promise<TurnServerHandle> {
  const realm = opts.realm ?? DEFAULT_REALM;
  const workDir = mkdtempSync(path.join(tmpdir(), `turn-${impl}-`));
  const command = buildCommand(impl, opts, ports, realm, workDir);
  const host = clientHost(opts.listeningIps ?? ['127.0.0.1']);
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'test' },
  });
  liveChildren.add(child);
  let output = '';
  // TURN_LOG_DIR=dir keeps every server's complete output in dir/<impl>-<port>.log.
  const logDir = process.env['TURN_LOG_DIR'];
  let logFile: ReturnType<typeof createWriteStream> | undefined;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    logFile = createWriteStream(path.join(logDir, `${impl}-${ports.listening}.log`));
    logFile.write(`${command.join(' ')}\n`);
  }
  const append = (chunk: Buffer): void => {
    logFile?.write(chunk);
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  let stopped = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      if (!stopped)
        output += `\n[harness] server exited unexpectedly: code ${code}, signal ${signal}\n`;
      liveChildren.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited ??= { code: null, signal: null };
      liveChildren.delete(child);
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(killTimer);
      }
      rmSync(workDir, { recursive: true, force: true });
      logFile?.end();
    }
  };

  const describe = (): string =>
    `command: ${command.join(' ')}\n--- server output ---\n${output.slice(-8000)}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000);
  for (;;) {
    if (spawnError) {
      await stop();
      throw new StartError(`${impl} TURN server failed to spawn: ${spawnError.message}`, false);
    }
    if (exited) {
      await stop();
      throw new StartError(
        `${impl} TURN server exited before it was ready (code ${exited.code}, signal ${exited.signal})\n${describe()}`,
        looksLikeAddressInUse(output),
      );
    }
    if (await probe(host, opts, ports)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new StartError(
        `${impl} TURN server not ready within ${opts.readyTimeoutMs ?? 15_000} ms\n${describe()}`,
        looksLikeAddressInUse(output),
      );
    }
  }
  if (child.pid === undefined) throw new Error('no pid');
  return {
    impl,
    host,
    udpPort: ports.listening,
    tlsPort: opts.tls ? ports.tls : 0,
    prometheusPort: opts.prometheus ? ports.prometheus : 0,
    pid: child.pid,
    realm,
    command,
    output: () => output,
    stop,
  };
}

/**
 * Starts the TURN server chosen by `opts.impl` or env TURN_IMPL on free ports and waits until it
 * answers a STUN Binding request (15 s by default). Retries with new ports (3 attempts) when the
 * server reports an address already in use. Always `stop()` it in `afterAll`.
 */
export async function startTurnServer(opts: TurnServerOptions): Promise<TurnServerHandle> {
  const impl = opts.impl ?? turnImpl();
  validate(impl, opts);
  const bindHost = (opts.listeningIps ?? ['127.0.0.1']).includes('0.0.0.0')
    ? '0.0.0.0'
    : clientHost(opts.listeningIps ?? ['127.0.0.1']);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [listening, tls, prometheus] = await freePorts(3, bindHost);
    try {
      return await startOnce(impl, opts, {
        listening: listening!,
        tls: tls!,
        prometheus: prometheus!,
      });
    } catch (err) {
      lastError = err;
      if (!(err instanceof StartError && err.addressInUse)) throw err;
    }
  }
  throw lastError;
}
