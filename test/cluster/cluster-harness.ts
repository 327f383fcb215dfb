/**
 * A cluster on loopback for the cluster tests: a real PostgreSQL and a real Redis, API and relay
 * nodes as real `cloudproxy start` processes (short heartbeat and TTL), an echoing UDP peer, and
 * TURN clients holding credentials from the API.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { Method, MessageClass, attr, errorCode, requestedTransport } from '@cloudproxy/stun';
import type { StunMessage } from '@cloudproxy/stun';
import { TestTurnClient } from '../../packages/turn/test/turn-client.js';
import { startSystem } from '../helpers/cloudproxy-start.js';
import type { StartedSystem } from '../helpers/cloudproxy-start.js';

/** Heartbeat and TTL of the test cluster (ms). */
export const HEARTBEAT_MS = 200;
export const TTL_MS = 1500;

/** A node of the test cluster. */
export interface ClusterNode {
  readonly id: string;
  readonly role: 'api' | 'relay';
  readonly system: StartedSystem;
}

/** Starts one node (`cloudproxy start --role …`) of the cluster. */
export async function startNode(
  id: string,
  role: 'api' | 'relay',
  stores: { databaseUrl: string; redisUrl: string },
): Promise<ClusterNode> {
  const system = await startSystem({
    extraArgs: [
      '--role',
      role,
      '--node-id',
      id,
      '--database-url',
      stores.databaseUrl,
      '--redis-url',
      stores.redisUrl,
      '--heartbeat-ms',
      String(HEARTBEAT_MS),
      '--node-ttl-ms',
      String(TTL_MS),
      '--usage-interval-ms',
      '300',
    ],
  });
  return { id, role, system };
}

/** The PID of a `cloudproxy start` process by its data directory (to SIGKILL it). */
export function pidOfNode(dataDir: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('start') && args.includes(dataDir)) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no cloudproxy start process for ${dataDir}`);
}

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes (then throws `what`). */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A UDP echo peer on loopback. */
export async function echoPeer(): Promise<dgram.Socket> {
  const peer = dgram.createSocket('udp4');
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  peer.on('message', (msg, rinfo) => peer.send(msg, rinfo.port, rinfo.address));
  return peer;
}

/** Credentials from an API node, for one channel and uid. */
export interface Credentials {
  readonly username: string;
  readonly credential: string;
  readonly urls: readonly string[];
}

/** Asks `api` for force-udp credentials. */
export async function credentials(
  api: StartedSystem,
  appId: string,
  key: string,
  channel: string,
  uid: string,
): Promise<Credentials> {
  const answer = await api.api('POST', `/api/v1/apps/${appId}/credentials`, {
    token: key,
    body: { channel, uid, mode: 'force-udp' },
  });
  if (answer.status !== 200) throw new Error(`credentials: ${answer.status} ${answer.text}`);
  const server = (answer.json as { iceServers: Credentials[] }).iceServers[0];
  if (!server) throw new Error('credentials: no iceServers');
  return server;
}

/** A TURN client over UDP to a relay node's port with these credentials. */
export function turnClient(port: number, creds: Credentials): Promise<TestTurnClient> {
  return TestTurnClient.connect('udp', port, { user: creds.username, pass: creds.credential });
}

/** Sends an Allocate; answers the response. */
export function allocate(c: TestTurnClient): Promise<StunMessage> {
  return c.request(Method.Allocate, [attr(requestedTransport, 17)]);
}

/** 200 for a success, else the error code. */
export function codeOf(response: StunMessage): number {
  return response.messageClass === MessageClass.SuccessResponse
    ? 200
    : (response.get(errorCode)?.code ?? 0);
}

/** The integer of a RESP integer reply (`:3\r\n`). */
export function respInteger(reply: string): number {
  return Number(/^:(-?\d+)/.exec(reply)?.[1] ?? NaN);
}
