/**
 * Authentication attacks on the real `cloudproxy turn`: unauthenticated Allocate, wrong
 * MESSAGE-INTEGRITY, expired REST credentials, nonces and whole requests replayed from another
 * source address, and that none of them binds a relay socket.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restCredentials } from '../helpers/credentials.js';
import { StunAttr, getAttr, longTermKey } from '../helpers/stun.js';
import { startTurnServer, type TurnServerHandle } from '../helpers/turn-server.js';
import { createPermission, fetchText, metricValue } from './common.js';
import {
  TurnAttacker,
  TurnMethod,
  codeOf,
  isSuccess,
  textAttr,
  u32Attr,
  xorAddress,
} from './turn-attacker.js';

const SECRET = 'auth-suite-secret';
let server: TurnServerHandle;
const attackers: TurnAttacker[] = [];

async function attacker(localAddress?: string): Promise<TurnAttacker> {
  const a = await TurnAttacker.open({
    host: '127.0.0.1',
    port: server.udpPort,
    transport: 'udp',
    ...(localAddress ? { localAddress } : {}),
  });
  attackers.push(a);
  return a;
}

async function metrics(): Promise<string> {
  return fetchText(`http://127.0.0.1:${server.prometheusPort}/metrics`);
}

const transport = u32Attr(StunAttr.RequestedTransport, 17 << 24);

beforeAll(async () => {
  server = await startTurnServer({
    impl: 'cloudproxy',
    users: [{ name: 'alice', password: 'alice-password' }],
    authSecret: SECRET,
    prometheus: true,
  });
});

afterAll(async () => {
  for (const a of attackers) a.close();
  await server.stop();
});

describe('unauthenticated and badly authenticated requests', () => {
  it('answers an unauthenticated Allocate with 401, REALM and NONCE, and binds no relay', async () => {
    const sockets = metricValue(await metrics(), 'cloudproxy_turn_relay_sockets');
    const a = await attacker();
    const answer = await a.exchange(a.build(TurnMethod.Allocate, () => [transport], false).bytes);
    expect(codeOf(answer)).toBe(401);
    expect(textAttr(answer!.message, StunAttr.Realm)).toBe(server.realm);
    expect(textAttr(answer!.message, StunAttr.Nonce)).toMatch(/^obMatJos2/);
    expect(getAttr(answer!.message, StunAttr.XorRelayedAddress)).toBeUndefined();
    expect(metricValue(await metrics(), 'cloudproxy_turn_relay_sockets')).toBe(sockets);
  });

  it('refuses a wrong MESSAGE-INTEGRITY with 401 and counts the failure', async () => {
    const before = metricValue(await metrics(), 'cloudproxy_turn_auth_failures_total');
    const answer = await (await attacker()).allocate('alice', 'not-the-password');
    expect(codeOf(answer)).toBe(401);
    expect(getAttr(answer.message, StunAttr.MessageIntegrity)).toBeUndefined();
    expect(metricValue(await metrics(), 'cloudproxy_turn_auth_failures_total')).toBe(before + 1);
  });

  it('refuses a MESSAGE-INTEGRITY with one bit flipped', async () => {
    const a = await attacker();
    await a.allocate('alice', 'alice-password');
    const request = a.build(TurnMethod.Refresh, () => []);
    request.bytes[request.bytes.length - 1]! ^= 0x01;
    expect(codeOf(await a.exchange(request.bytes))).toBe(401);
  });

  it('refuses expired REST credentials (401), accepts fresh ones', async () => {
    const expired = restCredentials(SECRET, 'late', -10);
    expect(codeOf(await (await attacker()).allocate(expired.username, expired.password))).toBe(401);
    const fresh = restCredentials(SECRET, 'early', 600);
    expect(isSuccess(await (await attacker()).allocate(fresh.username, fresh.password))).toBe(true);
  });

  it('refuses REST credentials signed with another secret', async () => {
    const forged = restCredentials('guessed-secret', 'mallory', 600);
    expect(codeOf(await (await attacker()).allocate(forged.username, forged.password))).toBe(401);
  });
});

describe('replays from another source address', () => {
  it('answers 438 (stale nonce) to a nonce learnt by 127.0.0.1 and used from 127.0.0.2', async () => {
    const victim = await attacker('127.0.0.1');
    expect(codeOf(await victim.allocate('alice', 'wrong'))).toBe(401); // learns a nonce
    const thief = await attacker('127.0.0.2');
    thief.realm = victim.realm;
    thief.nonce = victim.nonce;
    thief.username = 'alice';
    thief.key = longTermKey('alice', victim.realm, 'alice-password');
    const answer = await thief.signed(TurnMethod.Allocate, () => [transport]);
    expect(codeOf(answer)).toBe(438);
    expect(textAttr(answer.message, StunAttr.Nonce)).not.toBe(victim.nonce);
  });

  it('gets no allocation by replaying a captured signed Allocate from another address', async () => {
    const victim = await attacker('127.0.0.1');
    const first = await victim.exchange(
      victim.build(TurnMethod.Allocate, () => [transport], false).bytes,
    );
    victim.realm = textAttr(first!.message, StunAttr.Realm)!;
    victim.nonce = textAttr(first!.message, StunAttr.Nonce)!;
    victim.username = 'alice';
    victim.key = longTermKey('alice', victim.realm, 'alice-password');
    const captured = victim.build(TurnMethod.Allocate, () => [transport]).bytes;
    const replayer = await attacker('127.0.0.3');
    const replayed = await replayer.exchange(Buffer.from(captured));
    expect(codeOf(replayed)).toBe(438);
    expect(getAttr(replayed!.message, StunAttr.XorRelayedAddress)).toBeUndefined();
    // The victim's own request still works: the replay consumed nothing.
    expect(isSuccess(await victim.exchange(captured))).toBe(true);
  });

  it('gets 437 replaying a signed CreatePermission on a 5-tuple without an allocation', async () => {
    const victim = await attacker('127.0.0.1');
    expect(isSuccess(await victim.allocate('alice', 'alice-password'))).toBe(true);
    const captured = victim.build(TurnMethod.CreatePermission, (tid) => [
      { type: 0x0012, value: xorAddress('44.0.0.2', 3478, tid) },
    ]).bytes;
    const sameIp = await attacker('127.0.0.1');
    expect(codeOf(await sameIp.exchange(Buffer.from(captured)))).toBe(437);
    expect(isSuccess(await createPermission(victim, '44.0.0.1'))).toBe(true);
  });
});
