/**
 * One `cloudproxy start` with debug logging, used for three claims: secrets (admin token, TURN
 * secret, app API key, TURN passwords, client tokens) never reach the logs; every TLS listener
 * refuses TLS 1.0/1.1 and weak TLS 1.2 ciphers; relay ports of consecutive allocations are not
 * predictable.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type StartedSystem } from '../helpers/cloudproxy-start.js';
import { decodeXorAddress, getAttr, StunAttr } from '../helpers/stun.js';
import { createPermission, relayCredentials, relaySecret } from './common.js';
import { TurnAttacker, isSuccess } from './turn-attacker.js';

const ADMIN_TOKEN = 'security-admin-token-5f2c7a9e1d3b';
let system: StartedSystem;
let configDir: string;
const attackers: TurnAttacker[] = [];
const secrets: string[] = [];

beforeAll(async () => {
  configDir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-security-'));
  const config = path.join(configDir, 'start.yaml');
  writeFileSync(config, 'turn:\n  verbose: true\n', { mode: 0o600 });
  system = await startSystem({
    adminToken: '',
    env: { CLOUDPROXY_ADMIN_TOKEN: ADMIN_TOKEN },
    extraArgs: ['--config', config],
  });
  secrets.push(ADMIN_TOKEN, relaySecret(system));
});

afterAll(async () => {
  for (const a of attackers) a.close();
  await system.cleanup();
  rmSync(configDir, { recursive: true, force: true });
});

async function allocate(name: string): Promise<{ attacker: TurnAttacker; port: number }> {
  const attacker = await TurnAttacker.open({
    host: '127.0.0.1',
    port: system.turnPort,
    transport: 'udp',
  });
  attackers.push(attacker);
  const { username, password } = relayCredentials(system, name);
  secrets.push(password);
  const answer = await attacker.allocate(username, password);
  expect(isSuccess(answer)).toBe(true);
  const value = getAttr(answer.message, StunAttr.XorRelayedAddress)!;
  return { attacker, port: decodeXorAddress(value, answer.message.transactionId).port };
}

describe('relay ports come from a CSPRNG', () => {
  it('20 consecutive allocations get distinct, non-sequential ports spread over the range', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push((await allocate(`random-${i}`)).port);
    expect(new Set(ports).size).toBe(ports.length);
    const steps = ports.slice(1).map((p, i) => p - ports[i]!);
    // Sequential or constant-stride allocation would repeat one step; random ones do not.
    const commonest = Math.max(
      ...[...new Set(steps)].map((s) => steps.filter((x) => x === s).length),
    );
    expect(commonest, `steps ${steps.join(',')}`).toBeLessThanOrEqual(2);
    expect(steps.filter((s) => Math.abs(s) <= 2)).toHaveLength(0);
    // The default range is 49152-65535: 20 uniform draws spread over most of it.
    expect(Math.max(...ports) - Math.min(...ports)).toBeGreaterThan(6000);
  });
});

describe('secrets are never logged', () => {
  it('debug logs hold no admin token, TURN secret, API key, client token or TURN password', async () => {
    const app = await system.api('POST', '/api/v1/apps', {
      token: ADMIN_TOKEN,
      body: { name: 'secret-probe' },
    });
    expect(app.status).toBe(201);
    const appId = (app.json as { appId: string }).appId;
    const key = await system.api('POST', `/api/v1/apps/${appId}/keys`, { token: ADMIN_TOKEN });
    const apiKey = (key.json as { key: string }).key;
    secrets.push(apiKey);
    const token = await system.api('POST', `/api/v1/apps/${appId}/client-tokens`, {
      token: apiKey,
      body: { channel: 'c1', uid: 'u1' },
    });
    const clientToken = (token.json as { token: string }).token;
    secrets.push(clientToken);
    const creds = await system.api('POST', `/api/v1/apps/${appId}/credentials`, {
      token: clientToken,
      body: { channel: 'c1', uid: 'u1' },
    });
    const server = (creds.json as { iceServers: { username: string; credential: string }[] })
      .iceServers[0]!;
    secrets.push(server.credential);
    // Failed logins are logged too: the wrong secrets offered must not appear either.
    await system.api('GET', '/api/v1/apps', { token: 'wrong-token-value-0123456789' });
    secrets.push('wrong-token-value-0123456789');
    const { attacker } = await allocate('logged-user');
    expect(isSuccess(await createPermission(attacker, '44.0.0.1'))).toBe(true);
    const bad = await TurnAttacker.open({
      host: '127.0.0.1',
      port: system.turnPort,
      transport: 'udp',
    });
    attackers.push(bad);
    await bad.allocate('1:wrong', 'wrong-turn-password-4242');
    secrets.push('wrong-turn-password-4242');
    await new Promise((r) => setTimeout(r, 1500)); // the logger flushes every second
    const output = system.output();
    expect(output.includes('"level":20') || output.includes('debug')).toBe(true); // debug is on
    for (const secret of secrets) expect(output.includes(secret), secret.slice(0, 6)).toBe(false);
  });
});

/** Runs `openssl s_client` against `port` and tells whether a handshake completed. */
function handshake(port: number, args: readonly string[]): boolean {
  const result = spawnSync(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
    { input: '', timeout: 10_000, encoding: 'utf8' },
  );
  const text = `${result.stdout}${result.stderr}`;
  return /Cipher is [A-Z0-9]/.test(text) && !text.includes('Cipher is (NONE)');
}

describe.each([
  ['the shared HTTPS port', () => system.httpsPort],
  ['the TURN TLS port', () => system.turnTlsPort],
])('TLS on %s', (_name, port) => {
  it('refuses TLS 1.0 and 1.1', () => {
    expect(handshake(port(), ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'])).toBe(false);
    expect(handshake(port(), ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0'])).toBe(false);
  });

  // The node's certificate is ECDSA P-256: these are the CBC/SHA-1 suites it could otherwise use.
  it.each([
    'ECDHE-ECDSA-AES128-SHA',
    'ECDHE-ECDSA-AES256-SHA',
    'ECDHE-ECDSA-AES128-SHA256',
    'ECDHE-ECDSA-AES256-SHA384',
  ])('refuses the weak TLS 1.2 cipher %s', (cipher) => {
    expect(handshake(port(), ['-tls1_2', '-cipher', cipher])).toBe(false);
  });

  it('accepts TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256, and TLS 1.3', () => {
    expect(handshake(port(), ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'])).toBe(true);
    expect(handshake(port(), ['-tls1_3'])).toBe(true);
  });
});
