/**
 * The key UDP relay behaviours on both data planes of `cloudproxy turn` (`--data-plane js` and
 * `--data-plane native`; native is skipped when the addon was not built): ChannelData and
 * Send/Data with coturn's turnutils_uclient, IPv6, byte counts in the metrics, a bandwidth cap,
 * and with our own client: a permission that lapses under a live channel, and its rebinding.
 * docs/data-plane.md.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataPlane } from '@cloudproxy/dataplane';
import { MessageClass } from '@cloudproxy/stun';
import type { TransportAddress } from '@cloudproxy/stun';
import { TestTurnClient } from '../../packages/turn/test/turn-client.js';
import { makeSelfSignedCert, type TestCertificate } from '../helpers/certs.js';
import { describeRun, runUclient, startEchoPeer, type EchoPeer } from '../helpers/coturn-tools.js';
import { startTurnServer, type TurnServerHandle } from '../helpers/turn-server.js';

const USER = { name: 'alice', password: 'wonderland-7' };
const hasIpv6 = Object.values(os.networkInterfaces()).some((list) =>
  (list ?? []).some((e) => e.address === '::1'),
);
const PLANES = ['js', ...(loadDataPlane() ? ['native'] : [])] as const;

describe.concurrent.each(PLANES)('UDP relay on the %s data plane', (plane) => {
  let server: TurnServerHandle | undefined;
  let lapsing: TurnServerHandle | undefined;
  let capped: TurnServerHandle | undefined;
  let peer: EchoPeer | undefined;
  let peer6: { host: string; port: number; stop: () => void } | undefined;
  let cert: TestCertificate | undefined;
  const args = ['--data-plane', plane, '--data-plane-threads', '2'];

  beforeAll(async () => {
    peer = await startEchoPeer();
    cert = makeSelfSignedCert();
    if (hasIpv6) peer6 = await udpEcho('::1');
    const listeningIps = hasIpv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
    [server, lapsing, capped] = await Promise.all([
      startTurnServer({
        users: [USER],
        listeningIps,
        prometheus: true,
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
        extraArgs: [...args, ...(hasIpv6 ? ['--relay-ip', '::1'] : [])],
      }),
      startTurnServer({ users: [USER], extraArgs: [...args, '--permission-lifetime', '2'] }),
      startTurnServer({ users: [USER], extraArgs: [...args, '--max-bps', '4000'] }),
    ]);
    // The log is written in batches of up to a second.
    for (let i = 0; i < 30 && !server.output().includes('udp data plane'); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.output()).toContain(`udp data plane: ${plane}`);
  });

  afterAll(async () => {
    for (const s of [server, lapsing, capped, peer, peer6]) await s?.stop();
    cert?.cleanup();
  });

  async function relayed(
    target: TurnServerHandle,
    opts: {
      transport?: 'udp' | 'tcp' | 'tls';
      sendIndications?: boolean;
      clientToClient?: boolean;
      host?: string;
      peer?: { host: string; port: number };
    },
  ): Promise<void> {
    const echo = opts.peer ?? peer;
    const result = await runUclient({
      host: opts.host ?? target.host,
      port: opts.transport === 'tls' ? target.tlsPort : target.udpPort,
      transport: opts.transport ?? 'udp',
      user: USER,
      clients: 3,
      messages: 30,
      length: 200,
      ...(opts.clientToClient ? { clientToClient: true } : { peer: echo! }),
      ...(opts.sendIndications ? { sendIndications: true } : {}),
    });
    const why = `${describeRun(result)}\n${target.output().slice(-2000)}`;
    expect(result.summary, why).toBeDefined();
    expect(result.summary!.lost, why).toBeLessThanOrEqual(1);
    expect(result.summary!.receivedBytes, why).toBe(result.summary!.received * 200);
  }

  it('relays ChannelData to a peer and between clients', async () => {
    await relayed(server!, {});
    await relayed(server!, { clientToClient: true });
  });

  it('relays Send indications and answers with Data indications', async () => {
    await relayed(server!, { sendIndications: true });
  });

  it.skipIf(!hasIpv6)('relays over IPv6', async () => {
    await relayed(server!, { host: '::1', peer: peer6! });
    await relayed(server!, { host: '::1', peer: peer6!, sendIndications: true });
  });

  it('relays TCP and TLS clients (on the native plane, in the addon)', async () => {
    const adopted = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${server!.prometheusPort}/metrics`)).text();
      return Number(/cloudproxy_turn_dataplane_streams_total (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await adopted();
    await relayed(server!, { transport: 'tcp' });
    await relayed(server!, { transport: 'tcp', sendIndications: true });
    await relayed(server!, { transport: 'tls' });
    await relayed(server!, { transport: 'tls', sendIndications: true });
    // Each of uclient's TCP and TLS connections was handed over to the addon (the js plane has
    // no such counter), which relayed its ChannelData and Send indications itself.
    if (plane === 'native') expect((await adopted()) - before).toBeGreaterThanOrEqual(12);
  });

  it('counts the relayed bytes in the metrics', async () => {
    const bytes = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${server!.prometheusPort}/metrics`)).text();
      const line =
        /cloudproxy_turn_relayed_bytes_total\{[^}]*transport="udp"[^}]*to_peer[^}]*\} (\d+)/;
      return Number(line.exec(text)?.[1] ?? NaN);
    };
    const before = await bytes();
    await relayed(server!, {});
    await new Promise((resolve) => setTimeout(resolve, 1300)); // native counters: every second
    expect((await bytes()) - before).toBeGreaterThanOrEqual(3 * 30 * 200);
  });

  it('enforces the bandwidth cap (--max-bps)', async () => {
    const result = await runUclient({
      host: capped!.host,
      port: capped!.udpPort,
      transport: 'udp',
      user: USER,
      peer: peer!,
      messages: 30,
      length: 1000,
    });
    expect(result.summary, describeRun(result)).toBeDefined();
    expect(result.summary!.lost, describeRun(result)).toBeGreaterThan(10);
  });

  it('stops relaying when a permission lapses under a live channel, and resumes on rebinding', async () => {
    const creds = { user: USER.name, pass: USER.password };
    const client = await TestTurnClient.connect('udp', lapsing!.udpPort, creds, lapsing!.host);
    try {
      await client.allocate();
      const target: TransportAddress = { family: 4, address: peer!.host, port: peer!.port };
      const bind = async (): Promise<void> => {
        const answer = await client.channelBind(0x4001, target);
        expect(answer.messageClass).toBe(MessageClass.SuccessResponse);
      };
      await bind();
      expect(await echoes(client, 0x4001)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 2600)); // the permission lapses (2 s)
      expect(await echoes(client, 0x4001)).toBe(false);
      await bind();
      expect(await echoes(client, 0x4001)).toBe(true);
    } finally {
      client.close();
    }
  });
});

/** Sends ChannelData on `channel`; true when the echo peer's answer comes back within 700 ms. */
async function echoes(client: TestTurnClient, channel: number): Promise<boolean> {
  client.sendChannelData(channel, new Uint8Array([1, 2, 3, 4]), false);
  try {
    return (await client.nextChannelData(700)).channel === channel;
  } catch {
    return false;
  }
}

/** A UDP echo peer in this process (turnutils_peer's readiness probe is IPv4-only). */
function udpEcho(host: string): Promise<{ host: string; port: number; stop: () => void }> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (m, r) => socket.send(m, r.port, r.address));
  return new Promise((resolve) => {
    socket.bind(0, host, () => {
      resolve({ host, port: socket.address().port, stop: () => socket.close() });
    });
  });
}
