/**
 * The built `cloudproxy turn` as an operator runs it: bad input flood, SIGHUP reload, SIGTERM
 * drain, refusal to start as an open relay, unsupported coturn options named.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import tls from 'node:tls';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  MessageClass,
  Method,
  attr,
  encodeMessage,
  lifetime,
  newTransactionId,
  requestedTransport,
} from '@cloudproxy/stun';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TestTurnClient } from '../../packages/turn/test/turn-client.js';
import { makeSelfSignedCert } from '../helpers/certs.js';
import { REPO_ROOT, startTurnServer } from '../helpers/turn-server.js';
import type { TurnServerHandle } from '../helpers/turn-server.js';

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, 'bin/cloudproxy.js');
const USERS = [{ name: 'alice', password: 'wonderland' }];
let servers: TurnServerHandle[] = [];

afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});

async function start(extraArgs: string[] = []): Promise<TurnServerHandle> {
  const server = await startTurnServer({
    impl: 'cloudproxy',
    users: USERS,
    prometheus: true,
    extraArgs,
  });
  servers.push(server);
  return server;
}

/** Sum of every series of a metric. */
async function metricSum(server: TurnServerHandle, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.prometheusPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

async function metric(server: TurnServerHandle, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.prometheusPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith(`${name}${labels} `) || (l.startsWith(`${name}${labels}{`) && labels === ''),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** A UDP echo peer on loopback. */
async function echoPeer(): Promise<{ port: number; close(): void }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { port: socket.address().port, close: () => socket.close() };
}

/** Allocates, binds a channel to the echo peer and checks one round trip. */
async function relayRoundTrip(client: TestTurnClient, peerPort: number): Promise<void> {
  await client.allocate();
  const bound = await client.channelBind(0x4000, {
    family: 4,
    address: '127.0.0.1',
    port: peerPort,
  });
  expect(bound.messageClass).toBe(MessageClass.SuccessResponse);
  client.sendChannelData(0x4000, new Uint8Array([1, 2, 3]), false);
  expect((await client.nextChannelData()).data).toEqual(new Uint8Array([1, 2, 3]));
}

describe('cloudproxy turn under bad input', () => {
  it('drops 300,000 random and mutated packets, keeps relaying, and its heap stays bounded', async () => {
    const server = await start();
    const peer = await echoPeer();
    const heapBefore = await metric(server, 'cloudproxy_nodejs_heap_size_used_bytes');
    const valid = encodeMessage({
      method: Method.Allocate,
      messageClass: MessageClass.Request,
      transactionId: newTransactionId(),
      attributes: [attr(requestedTransport, 17), attr(lifetime, 600)],
      fingerprint: true,
    });
    const inputs = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 1500 }),
        fc
          .tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }))
          .map(([i, b]) => {
            const copy = new Uint8Array(valid);
            copy[i] = b;
            return copy;
          }),
        fc
          .tuple(fc.integer({ min: 0x4000, max: 0x7fff }), fc.uint8Array({ maxLength: 200 }))
          .map(([ch, data]) => {
            const out = new Uint8Array(4 + data.length);
            new DataView(out.buffer).setUint16(0, ch);
            new DataView(out.buffer).setUint16(2, data.length + (ch & 3));
            out.set(data, 4);
            return out;
          }),
      ),
      { numRuns: 2000, seed: 42 },
    );
    // From another source address: 401 answers are rate-limited per source IP, and the flood
    // must not eat the real client's budget.
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.2');
    await once(socket, 'listening');
    const total = 300_000;
    const deadline = Date.now() + 90_000;
    // Paced (250 packets per 2 ms) so that most reach the server rather than a full socket buffer.
    for (let sent = 0; sent < total && Date.now() < deadline; sent += 250) {
      for (let i = 0; i < 250; i++)
        socket.send(inputs[(sent + i) % inputs.length]!, server.udpPort, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    // Garbage on TCP too: the connection is closed, the server goes on.
    const tcp = net.connect(server.udpPort, '127.0.0.1');
    await once(tcp, 'connect');
    tcp.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    tcp.resume(); // the server answers an HTTP request with a 400 before closing
    await once(tcp, 'close');
    socket.close();

    const client = await TestTurnClient.connect('udp', server.udpPort, {
      user: 'alice',
      pass: 'wonderland',
    });
    await relayRoundTrip(client, peer.port);
    client.close();
    peer.close();
    const dropped = await metric(
      server,
      'cloudproxy_turn_dropped_packets_total',
      '{reason="malformed"}',
    );
    const handled =
      (await metricSum(server, 'cloudproxy_turn_dropped_packets_total')) +
      (await metricSum(server, 'cloudproxy_turn_error_responses_total'));
    const heapAfter = await metric(server, 'cloudproxy_nodejs_heap_size_used_bytes');
    console.log(
      `flood: ${handled} packets dropped or refused (${dropped} malformed); heap ${heapBefore} -> ${heapAfter}`,
    );
    expect(handled).toBeGreaterThan(150_000);
    expect(dropped).toBeGreaterThan(10_000);
    expect(heapAfter - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 150_000);
});

describe('cloudproxy turn signals', () => {
  it('on SIGTERM refuses new allocations (508), keeps live ones, and exits once they end', async () => {
    const server = await start(['--drain-timeout', '60']);
    const peer = await echoPeer();
    const client = await TestTurnClient.connect('udp', server.udpPort, {
      user: 'alice',
      pass: 'wonderland',
    });
    await relayRoundTrip(client, peer.port);
    process.kill(server.pid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = await TestTurnClient.connect('udp', server.udpPort, {
      user: 'alice',
      pass: 'wonderland',
    });
    await expect(late.allocate()).rejects.toThrow(/508/);
    late.close();
    client.sendChannelData(0x4000, new Uint8Array([9]), false);
    expect((await client.nextChannelData()).data).toEqual(new Uint8Array([9]));
    const exited = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        try {
          process.kill(server.pid, 0);
        } catch {
          clearInterval(timer);
          resolve();
        }
      }, 50);
    });
    await client.request(Method.Refresh, [attr(lifetime, 0)]);
    await exited;
    client.close();
    peer.close();
  }, 60_000);
});

describe('cloudproxy turn reload', () => {
  it('on SIGHUP takes new users from its config file without dropping live allocations', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'turn-reload-'));
    const conf = path.join(dir, 'turnserver.conf');
    writeFileSync(conf, 'lt-cred-mech\nuser=alice:wonderland\n', { mode: 0o600 });
    // A REST secret on the command line too (the helper insists on some credential).
    const server = await startTurnServer({
      impl: 'cloudproxy',
      authSecret: 'rest-secret',
      prometheus: true,
      extraArgs: ['-c', conf],
    });
    servers.push(server);
    const peer = await echoPeer();
    const alice = await TestTurnClient.connect('udp', server.udpPort, {
      user: 'alice',
      pass: 'wonderland',
    });
    await relayRoundTrip(alice, peer.port);
    writeFileSync(conf, 'lt-cred-mech\nuser=bob:builder\n', { mode: 0o600 });
    process.kill(server.pid, 'SIGHUP');
    let bobAllocated = false;
    for (let i = 0; i < 50 && !bobAllocated; i++) {
      const bob = await TestTurnClient.connect('udp', server.udpPort, {
        user: 'bob',
        pass: 'builder',
      });
      bobAllocated = await bob.allocate().then(
        () => true,
        () => false,
      );
      bob.close();
      if (!bobAllocated) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(bobAllocated).toBe(true);
    alice.sendChannelData(0x4000, new Uint8Array([7]), false);
    expect((await alice.nextChannelData()).data).toEqual(new Uint8Array([7]));
    const again = await TestTurnClient.connect('udp', server.udpPort, {
      user: 'alice',
      pass: 'wonderland',
    });
    await expect(again.allocate()).rejects.toThrow(/401/);
    again.close();
    alice.close();
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});

/** Runs the CLI expecting it to fail; returns its exit code and stderr. */
async function runFailing(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [CLI, ...args]);
  } catch (error: unknown) {
    const { code, stderr } = error as { code: number; stderr: string };
    return { code, stderr };
  }
  throw new Error(`cloudproxy ${args.join(' ')} succeeded`);
}

describe('cloudproxy turn certificate reload', () => {
  it('on SIGHUP serves the new certificate to new TLS connections; old ones go on', async () => {
    const first = makeSelfSignedCert('first.example');
    const second = makeSelfSignedCert('second.example');
    const dir = mkdtempSync(path.join(tmpdir(), 'turn-cert-reload-'));
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    const server = await startTurnServer({
      impl: 'cloudproxy',
      users: USERS,
      tls: { certFile, keyFile },
    });
    servers.push(server);
    const peerName = async (): Promise<{ name: string; socket: tls.TLSSocket }> => {
      const socket = tls.connect({
        port: server.tlsPort,
        host: '127.0.0.1',
        rejectUnauthorized: false,
      });
      await once(socket, 'secureConnect');
      return { name: socket.getPeerX509Certificate()?.subject ?? '', socket };
    };
    const before = await peerName();
    expect(before.name).toContain('first.example');
    copyFileSync(second.certFile, certFile);
    copyFileSync(second.keyFile, keyFile);
    process.kill(server.pid, 'SIGHUP');
    let after = '';
    for (let i = 0; i < 50 && !after.includes('second.example'); i++) {
      const probe = await peerName();
      after = probe.name;
      probe.socket.destroy();
      if (!after.includes('second.example'))
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(after).toContain('second.example');
    expect(before.socket.destroyed).toBe(false);
    before.socket.destroy();
    first.cleanup();
    second.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});

describe('cloudproxy turn configuration errors', () => {
  it('refuses to start without any authentication configured, saying why', async () => {
    const result = await runFailing(['turn', '--listening-port', '0', '--no-tls']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refusing to start an open relay/);
  });

  it('names an unsupported coturn option instead of ignoring it', async () => {
    const result = await runFailing(['turn', '--no-auth', '--userdb', '/tmp/x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--userdb/);
    expect(result.stderr).toMatch(/not supported/);
  });
});
