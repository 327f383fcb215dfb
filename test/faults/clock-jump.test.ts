/**
 * Fault: the wall clock jumps (NTP step, operator, VM resume). The relay keeps every deadline it
 * owns on a monotonic clock (allocation lifetimes, permissions, channels, nonces, reservations):
 * those neither expire nor stretch when the wall clock steps. The one wall-clock check is the
 * expiry written into TURN REST usernames, because the issuer (the control plane, an app
 * server) wrote it in Unix time on another machine; it follows the wall clock by design.
 *
 * 1. The real `cloudproxy turn` under libfaketime (wall clock only; CLOCK_MONOTONIC untouched),
 *    the fake offset changed while it runs:
 *    - wall +2 h (past the 600-s allocation lifetime and the 1-h credentials): kept: the
 *      allocation, its channel and permission (echoes), Refresh with static credentials and a
 *      fresh nonce round; refused: Refresh with the REST credentials the new wall time says are
 *      expired (401), as the issuer meant;
 *    - wall -4 h: kept: echoes and Refresh; new REST credentials made for the (new) wall time work.
 * 2. The relay with injected clocks (no process): lifetimes end by the monotonic clock only.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeClock } from '@cloudproxy/turn';
import { TurnServer } from '@cloudproxy/turn/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restCredentials } from '../helpers/credentials.js';
import { freePorts } from '../helpers/ports.js';
import { TurnRequestError } from '../soak/turn-load-client.mjs';
import {
  openRelayedCall,
  sleep,
  startTurnProcess,
  type RelayedCall,
  type TurnProcess,
} from './fault-helpers.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const SECRET = 'clock-jump-rest-secret';
const USER = { name: 'steady', password: 'steady-password' };
const HOUR_S = 3600;

let workDir: string | undefined;
let relay: TurnProcess | undefined;
let port = 0;
const calls: RelayedCall[] = [];

/** Sets libfaketime's offset for the running server (read on every clock call). */
function setWallOffset(offset: string): void {
  writeFileSync(path.join(workDir!, 'faketime'), `${offset}\n`);
}

beforeAll(async () => {
  if (!existsSync(LIBFAKETIME))
    throw new Error(`${LIBFAKETIME} missing: install Debian's faketime (scripts/install-deps.sh)`);
  workDir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-clock-'));
  setWallOffset('+0');
  port = (await freePorts(1))[0]!;
  const args = [
    ...['turn', '--listening-ip', '127.0.0.1', '--listening-port', String(port)],
    ...['--relay-ip', '127.0.0.1', '--realm', 'clock.test', '--no-tls', '--no-tcp'],
    ...['--lt-cred-mech', '--user', `${USER.name}:${USER.password}`],
    ...['--use-auth-secret', '--static-auth-secret', SECRET, '--allow-loopback-peers'],
  ];
  relay = await startTurnProcess(args, port, {
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME_TIMESTAMP_FILE: path.join(workDir, 'faketime'),
    FAKETIME_NO_CACHE: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });
});

afterAll(async () => {
  for (const call of calls) await call.close();
  await relay?.kill();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function refreshFails(call: RelayedCall): Promise<number> {
  try {
    await call.client.refresh();
    return 0;
  } catch (error) {
    if (error instanceof TurnRequestError) return error.code;
    throw error;
  }
}

describe('wall-clock jumps on the real relay (libfaketime)', () => {
  it('keeps allocations, channels and nonces across +2 h and -4 h; REST expiry follows the wall clock', async () => {
    const host = { host: '127.0.0.1', port };
    const steady = await openRelayedCall({ ...host, username: USER.name, password: USER.password });
    calls.push(steady);
    const rest = await openRelayedCall({
      ...host,
      ...restCredentials(SECRET, 'rest-user', HOUR_S),
    });
    calls.push(rest);
    expect(await steady.echo(10)).toEqual({ sent: 10, returned: 10 });
    expect(await rest.echo(10)).toEqual({ sent: 10, returned: 10 });

    setWallOffset('+2h');
    await sleep(1500);
    // Kept: both allocations relay (600-s lifetime, 300-s permission on the monotonic clock).
    expect(await steady.echo(10)).toEqual({ sent: 10, returned: 10 });
    expect(await rest.echo(10)).toEqual({ sent: 10, returned: 10 });
    expect(await steady.client.refresh()).toBe(600);
    // Refused: the REST credentials expired by the wall clock (their issuer's clock): 401.
    expect(await refreshFails(rest)).toBe(401);
    // Credentials issued for the new wall time work.
    const fresh = await openRelayedCall({
      ...host,
      ...restCredentials(SECRET, 'rest-user-2', HOUR_S, Date.now() + 2 * HOUR_S * 1000),
    });
    calls.push(fresh);
    expect(await fresh.echo(10)).toEqual({ sent: 10, returned: 10 });

    setWallOffset('-2h');
    await sleep(1500);
    for (const call of [steady, rest, fresh])
      expect(await call.echo(10)).toEqual({ sent: 10, returned: 10 });
    expect(await steady.client.refresh()).toBe(600);
    expect(await fresh.client.refresh()).toBe(600);
    expect(relay?.child.exitCode, relay?.output()).toBeNull();
  });
});

describe('relay deadlines on injected clocks', () => {
  it('ends an allocation after its lifetime on the monotonic clock, not on a wall-clock jump', async () => {
    const monotonic = new FakeClock(1_000_000);
    const wall = new FakeClock(Date.now());
    const server = new TurnServer(
      {
        realm: 'clock.test',
        auth: { users: { [USER.name]: USER.password } },
        listeningIps: ['127.0.0.1'],
        listeningPort: 0,
        noTls: true,
        noTcp: true,
        peerPolicy: { allowLoopbackPeers: true },
      },
      { clock: monotonic, wallClock: wall },
    );
    const [address] = await server.listen();
    const call = await openRelayedCall({
      host: '127.0.0.1',
      port: address!.port,
      username: USER.name,
      password: USER.password,
    });
    try {
      wall.advance(10 * HOUR_S * 1000);
      expect(await call.echo(5)).toEqual({ sent: 5, returned: 5 });
      expect(server.core.allocationCount).toBe(1);
      monotonic.advance(599_000);
      expect(await call.echo(5)).toEqual({ sent: 5, returned: 5 });
      monotonic.advance(2_000);
      // Past the 600-s lifetime on the monotonic clock: the allocation is gone (437 on Refresh).
      expect(await refreshFails(call)).toBe(437);
    } finally {
      await call.close();
      await server.close();
    }
  });
});
