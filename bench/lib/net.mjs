/**
 * Loopback networking for the benchmarks: free ports, readiness probes (a STUN Binding request
 * over UDP, a TCP connect) and bounded waiting.
 * @module
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port free for both UDP and TCP on `host` (bound once, then released). */
export async function freePort(host = '127.0.0.1') {
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: host, port: 0, exclusive: true }, () => resolve(udp.address().port));
    });
    const tcpOk = await new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
    });
    await new Promise((resolve) => udp.close(resolve));
    if (tcpOk) return port;
  }
  throw new Error(`no free port on ${host} after 50 attempts`);
}

/** `count` distinct free ports on `host`. */
export async function freePorts(count, host = '127.0.0.1') {
  const ports = [];
  while (ports.length < count) {
    const port = await freePort(host);
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** A STUN Binding request (RFC 8489 §5) with a random transaction id. */
export function bindingRequest() {
  const bytes = Buffer.alloc(20);
  bytes.writeUInt16BE(0x0001, 0);
  bytes.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(bytes, 8);
  return bytes;
}

/**
 * Resolves true when host:port answers `bytes` over UDP within `ms` with a datagram carrying
 * the same bytes 8–20 (a STUN transaction id, or an echo).
 */
export function udpAnswers(host, port, bytes, ms) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const finish = (ok) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('message', (msg) => {
      if (msg.length >= 20 && msg.subarray(8, 20).equals(bytes.subarray(8, 20))) finish(true);
    });
    socket.on('error', () => undefined); // ICMP port unreachable: no answer yet
    socket.send(bytes, port, host);
  });
}

/** Resolves true when a TCP connection to host:port succeeds. */
export function tcpAccepts(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Polls `probe` until it resolves true; throws with the process output when `proc` exits or
 * `timeoutMs` passes (then `proc` is stopped).
 */
export async function waitUntil(proc, what, probe, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`${what} exited:\n${proc.output().slice(-4000)}`);
    if (await probe()) return;
    await sleep(50);
  }
  await proc.stop();
  throw new Error(`${what} not ready in ${timeoutMs} ms:\n${proc.output().slice(-4000)}`);
}
