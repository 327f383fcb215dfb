// How close the relay's data path is to what node:dgram allows, and to coturn, on one identical
// load. Three servers, one after the other, relay the same paced ChannelData stream from one
// client socket to a `turnutils_peer` echo peer and back (two packets in, two out per message):
//   - coturn's turnserver;
//   - a bare node:dgram forwarder (no TURN at all: recv → send, recv → send): the floor of any
//     relay written on node:dgram;
//   - cloudproxy's TURN server.
// The server's CPU (utime+stime from /proc) over the run is divided by the messages echoed.
//
// Usage: node bench/node-floor.mjs [--seconds N] [--rate MSG_PER_MS] [--clients 1,40] [--out DIR]
// (`npm run bench` builds first and runs it after turn-relay.mjs.)
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processUsage } from './lib/proc.mjs';
import { freePort, sleep } from './lib/net.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stun = await import(path.join(ROOT, 'packages/stun/dist/index.js'));
const { nodeStunCrypto } = await import(path.join(ROOT, 'packages/stun/dist/node-crypto.js'));

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '12' },
    rate: { type: 'string', default: '20' },
    clients: { type: 'string', default: '1,40' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results') },
  },
});
const SECONDS = Number(opts.seconds);
const PER_MS = Number(opts.rate);
const CLIENT_COUNTS = opts.clients.split(',').map(Number);
const USER = 'bench';
const PASSWORD = 'bench-password';
const CHANNEL = 0x4000;

/** CPU seconds (utime+stime, all threads) of `pid`, from /proc/PID/stat. */
function cpuSeconds(pid) {
  const usage = processUsage(pid);
  if (!usage) throw new Error(`process ${pid} is gone`);
  return usage.cpuS;
}

function start(file, args) {
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  return { child, stderr: () => stderr };
}

/** One client socket: with `turn`, an allocation and a channel bound to the echo peer. */
async function openClient(serverPort, peerPort, turn) {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const client = { socket, received: 0, waiter: undefined };
  socket.on('message', (m) => {
    if (stun.isChannelData(m)) client.received++;
    else client.waiter?.(stun.decodeMessage(new Uint8Array(m)));
  });
  if (!turn) return client;
  const ask = (method, attributes, auth) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the TURN server')), 3000);
      client.waiter = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
      const all = [...attributes];
      if (auth) {
        all.push(stun.attr(stun.username, USER), stun.attr(stun.realm, auth.realm));
        all.push(stun.attr(stun.nonce, auth.nonce));
      }
      const msg = stun.encodeMessage(
        {
          method,
          messageClass: stun.MessageClass.Request,
          transactionId: stun.newTransactionId(),
          attributes: all,
          integrityKey: auth?.key,
          fingerprint: true,
        },
        nodeStunCrypto,
      );
      socket.send(msg, serverPort, '127.0.0.1');
    });
  const transport = [stun.attr(stun.requestedTransport, 17)];
  const challenge = await ask(stun.Method.Allocate, transport);
  const realm = challenge.get(stun.realm);
  const auth = {
    realm,
    nonce: challenge.get(stun.nonce),
    key: stun.longTermKey(USER, realm, PASSWORD, 1, nodeStunCrypto),
  };
  await ask(stun.Method.Allocate, transport, auth);
  const peer = { family: 4, address: '127.0.0.1', port: peerPort };
  const bound = await ask(
    stun.Method.ChannelBind,
    [stun.attr(stun.channelNumber, CHANNEL), stun.attr(stun.xorPeerAddress, peer)],
    auth,
  );
  if (bound.messageClass !== stun.MessageClass.SuccessResponse)
    throw new Error('ChannelBind failed');
  return client;
}

/** Sends PER_MS ChannelData per ms for SECONDS, round-robin over `count` client sockets. */
async function drive(serverPort, peerPort, turn, count) {
  const clients = [];
  for (let i = 0; i < count; i++) clients.push(await openClient(serverPort, peerPort, turn));
  const packet = Buffer.from(stun.encodeChannelData(CHANNEL, new Uint8Array(100), false));
  let sent = 0;
  const t0 = Date.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor((Date.now() - t0) * PER_MS);
      while (sent < due) {
        clients[sent % count].socket.send(packet, serverPort, '127.0.0.1');
        sent++;
      }
      if (Date.now() - t0 >= SECONDS * 1000) {
        clearInterval(timer);
        setTimeout(resolve, 500);
      }
    }, 1);
  });
  for (const client of clients) client.socket.close();
  return { sent, received: clients.reduce((n, c) => n + c.received, 0) };
}

const FLOOR_SOURCE = `
import dgram from 'node:dgram';
const [port, peerPort] = process.argv.slice(1).map(Number);
const lookup = (host, _options, callback) => callback(null, host, 4);
const front = dgram.createSocket({ type: 'udp4', lookup });
const backs = new Map();
front.on('message', (m, r) => {
  const key = r.address + '|' + r.port;
  let back = backs.get(key);
  if (!back) {
    const client = { port: r.port, address: r.address };
    back = dgram.createSocket({ type: 'udp4', lookup });
    back.on('message', (d) => {
      const header = Buffer.allocUnsafe(4);
      header.writeUInt16BE(${CHANNEL}, 0);
      header.writeUInt16BE(d.length, 2);
      front.send([header, d], client.port, client.address);
    });
    back.bind(0, '127.0.0.1');
    backs.set(key, back);
  }
  back.send(m.subarray(4), peerPort, '127.0.0.1');
});
front.bind(port, '127.0.0.1');
`;

async function runServer(name, serverPort, peerPort, work, count) {
  const commands = {
    coturn: () => {
      writeFileSync(path.join(work, 'turnserver.conf'), '\n');
      return start('turnserver', [
        '-c',
        path.join(work, 'turnserver.conf'),
        '--listening-ip',
        '127.0.0.1',
        '--listening-port',
        String(serverPort),
        '--relay-ip',
        '127.0.0.1',
        '--no-tls',
        '--no-dtls',
        '--no-tcp',
        '--lt-cred-mech',
        '--user',
        `${USER}:${PASSWORD}`,
        '--realm',
        'bench',
        '--allow-loopback-peers',
        '--no-cli',
        '--log-file',
        'stdout',
        '--simple-log',
        '--pidfile',
        path.join(work, 'pid'),
        '--userdb',
        path.join(work, 'db'),
      ]);
    },
    'node:dgram floor': () =>
      start(process.execPath, [
        '--input-type=module',
        '-e',
        FLOOR_SOURCE,
        String(serverPort),
        String(peerPort),
      ]),
    cloudproxy: () =>
      start(process.execPath, [
        path.join(ROOT, 'bin/cloudproxy.js'),
        'turn',
        '--listening-ip',
        '127.0.0.1',
        '--listening-port',
        String(serverPort),
        '--relay-ip',
        '127.0.0.1',
        '--no-tls',
        '--no-tcp',
        '--user',
        `${USER}:${PASSWORD}`,
        '--realm',
        'bench',
        '--allow-loopback-peers',
        '--drain-timeout',
        '0',
      ]),
  };
  const server = commands[name]();
  try {
    await sleep(1200);
    if (server.child.exitCode !== null) throw new Error(`${name} exited: ${server.stderr()}`);
    const before = cpuSeconds(server.child.pid);
    const { sent, received } = await drive(
      serverPort,
      peerPort,
      name !== 'node:dgram floor',
      count,
    );
    const cpuS = cpuSeconds(server.child.pid) - before;
    return {
      name,
      clients: count,
      sent,
      received,
      cpuS,
      usPerMsg: (cpuS / received) * 1e6,
    };
  } finally {
    server.child.kill('SIGKILL');
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'node-floor-'));
const peerPort = await freePort();
const peer = start('turnutils_peer', ['-p', String(peerPort), '-L', '127.0.0.1']);
const results = [];
try {
  await sleep(300);
  for (const count of CLIENT_COUNTS) {
    for (const name of ['coturn', 'node:dgram floor', 'cloudproxy']) {
      const result = await runServer(name, await freePort(), peerPort, work, count);
      results.push(result);
      console.log(
        `${String(count).padStart(3)} clients  ${name.padEnd(18)} ${result.received}/${result.sent} echoed  CPU ${result.usPerMsg.toFixed(2)} µs/msg`,
      );
    }
  }
} finally {
  peer.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

const reference = (r, name) => results.find((x) => x.clients === r.clients && x.name === name);
const lines = [
  '# Relay data path vs the node:dgram floor and coturn',
  '',
  `${new Date().toISOString()} — ${os.cpus()[0]?.model}, ${os.cpus().length} CPUs, Node ${process.version}; load average at start ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}.`,
  '',
  `Load: ${PER_MS * 1000} ChannelData messages/s (100-byte payload) for ${SECONDS} s, spread round-robin over 1 or more client sockets (each its own allocation); the server relays each to a \`turnutils_peer\` echo peer and back (2 packets in, 2 out per message).`,
  '',
  '| clients | server | echoed / sent | server CPU µs per message | vs coturn | vs node:dgram floor |',
  '|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.clients} | ${r.name} | ${r.received} / ${r.sent} | ${r.usPerMsg.toFixed(2)} | ${(r.usPerMsg / reference(r, 'coturn').usPerMsg).toFixed(2)}× | ${(r.usPerMsg / reference(r, 'node:dgram floor').usPerMsg).toFixed(2)}× |`,
  ),
  '',
  "The floor is a node:dgram forwarder with no TURN logic (one back socket per client, as a relay has one per allocation): no relay written on node:dgram can spend less. The gap between it and coturn is the cost of Node's per-datagram path (a buffer, an address object and a JS callback per packet, no recvmmsg/sendmmsg); closing it takes the native data plane.",
  '',
];
mkdirSync(opts.out, { recursive: true });
writeFileSync(path.join(opts.out, 'node-floor.md'), lines.join('\n'));
writeFileSync(
  path.join(opts.out, 'node-floor.json'),
  `${JSON.stringify({ date: new Date().toISOString(), perMs: PER_MS, seconds: SECONDS, clientCounts: CLIENT_COUNTS, results }, null, 2)}\n`,
);
console.log(
  `\n${lines.slice(6, 7 + results.length + 1).join('\n')}\nwritten: ${path.relative(process.cwd(), path.join(opts.out, 'node-floor.md'))}`,
);
