/**
 * Free-port discovery for tests: never fixed ports. A port is "free" when both a UDP and a TCP
 * socket can bind it on the given address (TURN listens on both). There is an unavoidable race
 * between closing the probe sockets and the server binding the port: callers retry on conflict.
 */
import dgram from 'node:dgram';
import net from 'node:net';

function familyOf(host: string): 'udp4' | 'udp6' {
  return net.isIPv6(host) ? 'udp6' : 'udp4';
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: familyOf(host), reuseAddr: false });
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function bindTcp(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.removeAllListeners('error');
      resolve(server);
    });
  });
}

function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.close(() => {
      resolve();
    });
  });
}

function closeTcp(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/** Ports already handed out by this process: never hand out the same port twice. */
const handedOut = new Set<number>();

/**
 * Finds `count` distinct ports that are free for both UDP and TCP on `host` (default 127.0.0.1;
 * pass 0.0.0.0 when the server will listen on all interfaces). Bounded: at most 50 attempts.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; attempt < 50 && ports.length < count; attempt++) {
    const udp = await bindUdp(host, 0);
    const port = udp.address().port;
    try {
      if (handedOut.has(port) || port < 1024) continue;
      const tcp = await bindTcp(host, port).catch(() => undefined);
      if (!tcp) continue;
      await closeTcp(tcp);
      handedOut.add(port);
      ports.push(port);
    } finally {
      await closeUdp(udp);
    }
  }
  if (ports.length < count)
    throw new Error(`could not find ${count} free UDP+TCP ports on ${host}`);
  return ports;
}

/** One free UDP+TCP port. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}
