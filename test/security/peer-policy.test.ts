/**
 * SSRF through the relay, against the real `cloudproxy start` with the production peer policy
 * (no --allow-loopback-peers): CreatePermission and ChannelBind to every special-purpose
 * address, every IPv4-in-IPv6 spelling, the metadata service and the node's own listeners get
 * 403 over UDP and TCP; Send indications to them relay nothing. Relaying to another allocation's
 * relay port on the same node (relay to relay) still works.
 * @module
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type StartedSystem } from '../helpers/cloudproxy-start.js';
import { startTurnServer, type TurnServerHandle } from '../helpers/turn-server.js';
import { StunAttr } from '../helpers/stun.js';
import {
  DUAL_STACK,
  attackPeer,
  createPermission,
  fetchText,
  metricValue,
  relayCredentials,
  sendIndication,
} from './common.js';
import { EMBEDDED_IPV4_IN_IPV6, SPECIAL_IPV4, SPECIAL_IPV6 } from './targets.js';
import {
  TurnAttacker,
  codeOf,
  isSuccess,
  textAttr,
  xorAddress as xor,
  type Answer,
} from './turn-attacker.js';
import { decodeXorAddress, getAttr } from '../helpers/stun.js';

let system: StartedSystem;
const attackers: TurnAttacker[] = [];

beforeAll(async () => {
  system = await startSystem({ allowLoopbackPeers: false, extraArgs: ['--relay-ip', '::1'] });
});

afterAll(async () => {
  for (const a of attackers) a.close();
  await system.cleanup();
});

async function allocated(
  transport: 'udp' | 'tcp',
): Promise<{ attacker: TurnAttacker; answer: Answer }> {
  const attacker = await TurnAttacker.open({ host: '127.0.0.1', port: system.turnPort, transport });
  attackers.push(attacker);
  const { username, password } = relayCredentials(system, `ssrf-${transport}`);
  const answer = await attacker.allocate(username, password, [DUAL_STACK]);
  expect(isSuccess(answer), textAttr(answer.message, StunAttr.ErrorCode)).toBe(true);
  return { attacker, answer };
}

function relayedPorts(answer: Answer): number[] {
  return answer.message.attributes
    .filter((a) => a.type === 0x0016)
    .map((a) => decodeXorAddress(a.value, answer.message.transactionId).port);
}

describe.each(['udp', 'tcp'] as const)('relay to forbidden peers over %s', (transport) => {
  let attacker: TurnAttacker;
  let answer: Answer;
  beforeAll(async () => {
    ({ attacker, answer } = await allocated(transport));
  });

  const targets = [...SPECIAL_IPV4, ...SPECIAL_IPV6, ...EMBEDDED_IPV4_IN_IPV6];
  it(`refuses CreatePermission and ChannelBind to ${targets.length} special-purpose and embedded addresses with 403`, async () => {
    const failures: string[] = [];
    let channel = 0x4000;
    for (const address of targets) {
      const result = await attackPeer(attacker, address, 3478, channel++);
      if (result.permission !== 403 || result.channel !== 403)
        failures.push(`${address}: permission ${result.permission}, channel ${result.channel}`);
    }
    expect(failures).toEqual([]);
  });

  it("refuses the node's own listening, HTTPS/API/metrics and relay addresses outside relay ports", async () => {
    const own = [
      ['127.0.0.1', system.turnPort],
      ['127.0.0.1', system.turnTlsPort],
      ['127.0.0.1', system.httpsPort],
      ['::1', system.turnPort],
      ['::ffff:127.0.0.1', system.httpsPort],
    ] as const;
    const failures: string[] = [];
    let channel = 0x5000;
    for (const [address, port] of own) {
      const result = await attackPeer(attacker, address, port, channel++);
      if (result.permission !== 403 || result.channel !== 403)
        failures.push(`${address}:${port}: ${JSON.stringify(result)}`);
    }
    expect(failures).toEqual([]);
  });

  it('relays nothing with Send indications to them (counted as no-permission drops)', async () => {
    const victim = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => victim.bind(0, '127.0.0.1', resolve));
    let hits = 0;
    victim.on('message', () => hits++);
    const victimPort = victim.address().port;
    const metricsUrl = `${system.baseUrl}/metrics`;
    const before = metricValue(
      await fetchText(metricsUrl, system.certPem),
      'cloudproxy_turn_dropped_packets_total',
      { reason: 'no-permission' },
    );
    for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '::127.0.0.1', '2002:7f00:1::1'])
      sendIndication(attacker, address, victimPort, Buffer.from('ssrf'));
    // Let the relay act on them; a Binding request on the same 5-tuple orders the wait.
    await attacker.exchange(attacker.build(0x001, () => [], false).bytes);
    victim.close();
    expect(hits).toBe(0);
    const after = metricValue(
      await fetchText(metricsUrl, system.certPem),
      'cloudproxy_turn_dropped_packets_total',
      { reason: 'no-permission' },
    );
    // The two IPv4 spellings map to one family; the IPv6 ones reach the IPv6 relay: all dropped.
    expect(after - before).toBeGreaterThanOrEqual(4);
    expect(relayedPorts(answer)).toHaveLength(2);
  });
});

describe('relay to relay on the same node', () => {
  it("permits another allocation's relay address (own address, relay port)", async () => {
    const { answer: other } = await allocated('udp');
    const { attacker } = await allocated('tcp');
    const [port] = relayedPorts(other);
    const channel = await attacker.signed(0x009, (tid) => [
      { type: 0x000c, value: Buffer.from([0x40, 0x01, 0, 0]) },
      { type: 0x0012, value: xor('127.0.0.1', port!, tid) },
    ]);
    expect(isSuccess(channel), String(codeOf(channel))).toBe(true);
    expect(isSuccess(await createPermission(attacker, '127.0.0.1', port))).toBe(true);
    expect(getAttr(channel.message, StunAttr.MessageIntegrity)).toBeDefined();
  });
});

describe('an allowed subnet around the server (cloudproxy turn --allowed-peer-ip)', () => {
  let server: TurnServerHandle;
  let attacker: TurnAttacker;
  beforeAll(async () => {
    server = await startTurnServer({
      impl: 'cloudproxy',
      users: [{ name: 'subnet', password: 'subnet-password' }],
      listeningIps: ['127.0.0.1', '192.0.2.2'],
      allowLoopbackPeers: false,
      prometheus: true,
      extraArgs: ['--allowed-peer-ip', '192.0.2.0/24'],
    });
    attacker = await TurnAttacker.open({
      host: '127.0.0.1',
      port: server.udpPort,
      transport: 'udp',
    });
    attackers.push(attacker);
    expect(isSuccess(await attacker.allocate('subnet', 'subnet-password'))).toBe(true);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('still refuses the server inside it (listener, metrics) and allows its other hosts', async () => {
    const own = await attackPeer(attacker, '192.0.2.2', server.udpPort, 0x4100);
    expect(own).toEqual({ permission: 403, channel: 403 });
    const metrics = await attackPeer(attacker, '192.0.2.2', server.prometheusPort, 0x4101);
    expect(metrics).toEqual({ permission: 403, channel: 403 });
    expect(await attackPeer(attacker, '192.0.2.77', 3478, 0x4102)).toEqual({
      permission: undefined,
      channel: undefined,
    });
  });
});
