/**
 * Shared pieces of the fault tests: an app with credentials on a running `cloudproxy start`, a
 * relayed UDP allocation with a channel to an echo peer (the project's own TURN client,
 * test/soak/turn-load-client.mjs), echo rounds that count what came back, bounded polling, and a
 * `cloudproxy turn` process of the test's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import type { StartedSystem } from '../helpers/cloudproxy-start.js';
import { bindingRequest, udpTransaction } from '../helpers/stun.js';
import { REPO_ROOT } from '../helpers/turn-server.js';
import { TurnLoadClient, startEchoPeer, type EchoPeer } from '../soak/turn-load-client.mjs';

/** The channel number every fault test binds. */
export const CHANNEL = 0x4000;

/** An app of the node with an API key. */
export interface TestApp {
  readonly appId: string;
  readonly key: string;
}

/** Creates an app (admin token) and an API key for it. */
export async function createTestApp(system: StartedSystem, name: string): Promise<TestApp> {
  const token = system.adminToken;
  const app = await system.api('POST', '/api/v1/apps', { token, body: { name } });
  expect(app.status, app.text).toBe(201);
  const appId = (app.json as { appId: string }).appId;
  const key = await system.api('POST', `/api/v1/apps/${appId}/keys`, { token, body: {} });
  expect(key.status, key.text).toBe(201);
  return { appId, key: (key.json as { key: string }).key };
}

/** TURN REST credentials for the UDP relay, as the API issues them. */
export interface UdpCredentials {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
}

/** Issues force-udp credentials through the API and returns the UDP server and credentials. */
export async function issueUdpCredentials(
  system: StartedSystem,
  appId: string,
  token: string,
  request: { channel: string; uid: string; ttl?: number },
): Promise<UdpCredentials> {
  const res = await system.api('POST', `/api/v1/apps/${appId}/credentials`, {
    token,
    body: { mode: 'force-udp', ...request },
  });
  expect(res.status, res.text).toBe(200);
  const server = (
    res.json as { iceServers: { urls: string[]; username: string; credential: string }[] }
  ).iceServers[0]!;
  const url = server.urls.find((u) => u.startsWith('turn:') && u.includes('transport=udp'))!;
  const match = /^turn:([^:?]+):(\d+)/.exec(url)!;
  return {
    host: match[1]!,
    port: Number(match[2]),
    username: server.username,
    password: server.credential,
  };
}

/** A relayed allocation with a channel bound to an echo peer. */
export interface RelayedCall {
  readonly client: TurnLoadClient;
  readonly peer: EchoPeer;
  /** Sends `count` messages `gapMs` apart; resolves with how many came back (within 3 s). */
  echo(count: number, gapMs?: number): Promise<{ sent: number; returned: number }>;
  close(): Promise<void>;
}

/** Allocates over UDP with `credentials` and binds a channel to a new echo peer. */
export async function openRelayedCall(credentials: UdpCredentials): Promise<RelayedCall> {
  const peer = await startEchoPeer('127.0.0.1');
  const client = new TurnLoadClient(credentials);
  await client.bind('127.0.0.1');
  await client.allocate();
  await client.channelBind(CHANNEL, peer);
  const received = new Set<number>();
  client.onData = (channel, data) => {
    if (channel === CHANNEL && data.length >= 4)
      received.add(new DataView(data.buffer, data.byteOffset).getUint32(0));
  };
  let seq = 0;
  return {
    client,
    peer,
    echo: async (count, gapMs = 20) => {
      const first = seq;
      for (let i = 0; i < count; i++) {
        const data = new Uint8Array(100);
        new DataView(data.buffer).setUint32(0, seq++);
        client.sendChannelData(CHANNEL, data);
        await sleep(gapMs);
      }
      const returned = (): number => {
        let n = 0;
        for (let s = first; s < seq; s++) if (received.has(s)) n++;
        return n;
      };
      await waitFor(() => returned() === count, 3000);
      return { sent: count, returned: returned() };
    },
    close: async () => {
      client.close();
      await peer.close();
    },
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 100 ms until it is true or `timeoutMs` passed; returns the last result. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/** A `cloudproxy turn` process started by `startTurnProcess`. */
export interface TurnProcess {
  readonly child: ChildProcess;
  /** The last 64 KiB of its stdout and stderr. */
  output(): string;
  /** SIGKILL (no drain); resolves once it exited. Does nothing when it already did. */
  kill(): Promise<void>;
}

/**
 * Spawns `cloudproxy turn` with `args` (plus `env` over the test's environment) and waits up to
 * 15 s for a Binding answer on 127.0.0.1:`udpPort`; kills it and throws with its output if none
 * comes.
 */
export async function startTurnProcess(
  args: readonly string[],
  udpPort: number,
  env: NodeJS.ProcessEnv = {},
): Promise<TurnProcess> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/cloudproxy.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (c: Buffer): void => {
    output = (output + c.toString()).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const turn: TurnProcess = {
    child,
    output: () => output,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
  const up = await waitFor(async () => {
    if (child.exitCode !== null) return false;
    try {
      await udpTransaction('127.0.0.1', udpPort, bindingRequest(), 300, 100);
      return true;
    } catch {
      return false;
    }
  }, 15_000);
  if (!up) {
    await turn.kill();
    throw new Error(`cloudproxy turn did not start:\n${output}`);
  }
  return turn;
}
