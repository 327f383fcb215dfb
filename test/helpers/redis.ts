/**
 * A real Redis server for tests: `redis-server` on a free loopback port with no persistence, in
 * a temp dir. `restart()` stops it (its data is lost, as after a crash without persistence) and
 * starts it again on the same port; `stop()` ends it and removes the directory; an exit hook
 * kills it if a test run dies first. A missing binary is a failure with instructions, never a
 * skip.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/** A running Redis server. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Sends one inline command and returns the raw reply text (e.g. `INFO commandstats`). */
  command(...args: string[]): Promise<string>;
  /** Stops the server (data lost) and starts it again on the same port after `downMs`. */
  restart(downMs?: number): Promise<void>;
  /** Stops the server only (see `start()`). */
  kill(): Promise<void>;
  /** Starts a killed server again on the same port. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The redis-server binary: $REDIS_SERVER, else /usr/bin/redis-server. */
export function redisServerBin(): string {
  const bin = process.env['REDIS_SERVER'] ?? '/usr/bin/redis-server';
  if (!existsSync(bin))
    throw new Error(
      `redis-server not found at ${bin}: the cluster tests need a real server; install the redis-server package or set REDIS_SERVER.`,
    );
  return bin;
}

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** One RESP command over a fresh connection; resolves with the reply text (minimal parsing). */
function send(port: number, args: readonly string[], timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0] ?? ''}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      const complete = reply.startsWith('$')
        ? reply.length >= reply.indexOf('\r\n') + 2 + Number(reply.slice(1, reply.indexOf('\r\n')))
        : reply.endsWith('\r\n');
      if (complete) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Starts a throwaway Redis server. */
export async function startRedis(): Promise<RedisServer> {
  const bin = redisServerBin();
  const dir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  const killSync = (): void => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killSync);
  const launch = async (): Promise<void> => {
    const started = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    started.stdout.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-16_384)));
    started.stderr.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-16_384)));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (started.exitCode !== null) throw new Error(`redis-server exited:\n${log}`);
      const pong = await send(port, ['PING'], 500).catch(() => '');
      if (pong.startsWith('+PONG')) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer in 10 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async (): Promise<void> => {
    const running = child;
    if (running?.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGKILL');
    await exited;
  };
  try {
    await launch();
  } catch (error) {
    killSync();
    process.removeListener('exit', killSync);
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    command: (...args) => send(port, args),
    kill,
    start: launch,
    restart: async (downMs = 0) => {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    stop: async () => {
      process.removeListener('exit', killSync);
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
