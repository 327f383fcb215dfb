/**
 * TURN over TCP and TLS with a PROXY protocol header from a configured load balancer (real
 * loopback sockets): XOR-MAPPED-ADDRESS shows the client the header names. Also: headers from
 * other sources are refused, an HTTP request on the TCP port gets a clear 400, and a stream
 * adopted through `acceptStream()` is served as a TLS client.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import {
  MessageClass,
  Method,
  StreamFramer,
  decodeMessage,
  encodeMessage,
  newTransactionId,
  xorMappedAddress,
} from '@cloudproxy/stun';
import type { TransportAddress } from '@cloudproxy/stun';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../../test/helpers/certs.js';
import type { TestCertificate } from '../../../test/helpers/certs.js';
import { PROXY_V2_SIGNATURE } from '../src/proxy-protocol.js';
import { TurnServer } from '../src/node/turn-server.js';

const TIMEOUT_MS = 5_000;
let cert: TestCertificate;
let server: TurnServer;
let other: TurnServer;
const ports = { tcp: 0, tls: 0, otherTcp: 0 };

function bindingRequest(): Uint8Array {
  return encodeMessage({
    method: Method.Binding,
    messageClass: MessageClass.Request,
    transactionId: newTransactionId(),
    attributes: [],
  });
}

/** A v2 PROXY header for a TCP4 connection from `source`. */
function v2Header(source: { address: string; port: number }): Buffer {
  const body = Buffer.alloc(12);
  source.address.split('.').forEach((octet, i) => body.writeUInt8(Number(octet), i));
  body.set([127, 0, 0, 1], 4);
  body.writeUInt16BE(source.port, 8);
  body.writeUInt16BE(3478, 10);
  return Buffer.concat([Buffer.from(PROXY_V2_SIGNATURE), Buffer.from([0x21, 0x11, 0, 12]), body]);
}

/** Connects, writes `prefix` then a Binding request, and returns the mapped address or 'closed'. */
async function mappedVia(
  socket: net.Socket,
  prefix: Uint8Array,
  ready: 'connect' | 'secureConnect',
): Promise<TransportAddress | 'closed'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer'));
    }, TIMEOUT_MS);
    const framer = new StreamFramer((frame) => {
      clearTimeout(timer);
      socket.destroy();
      const mapped = decodeMessage(frame.slice()).get(xorMappedAddress);
      if (mapped) resolve(mapped);
      else reject(new Error('no XOR-MAPPED-ADDRESS'));
    });
    socket.on('data', (chunk: Buffer) => {
      framer.push(chunk);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.once(ready, () => {
      socket.write(Buffer.concat([prefix, bindingRequest()]));
    });
  });
}

beforeAll(async () => {
  cert = makeSelfSignedCert();
  const base = {
    auth: { users: { alice: 'wonderland' } },
    listeningIps: ['127.0.0.1'],
    listeningPort: 0,
    tlsListeningPort: 0,
    noUdp: true,
    certFile: cert.certFile,
    keyFile: cert.keyFile,
  };
  server = new TurnServer({ ...base, proxyProtocolFrom: ['127.0.0.0/8'] });
  for (const a of await server.listen()) if (a.transport !== 'udp') ports[a.transport] = a.port;
  other = new TurnServer({ ...base, noTls: true, proxyProtocolFrom: ['10.0.0.0/8'] });
  ports.otherTcp = (await other.listen())[0]!.port;
  server.setHttpsPort(8443);
});

afterAll(async () => {
  await server.close();
  await other.close();
  cert.cleanup();
});

describe('PROXY protocol on TURN stream listeners', () => {
  it('reports the v1 header client in XOR-MAPPED-ADDRESS (TCP)', async () => {
    const header = Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 40001 3478\r\n');
    const mapped = await mappedVia(net.connect(ports.tcp, '127.0.0.1'), header, 'connect');
    expect(mapped).toEqual({ family: 4, address: '203.0.113.7', port: 40001 });
  });

  it('reports the v2 header client in XOR-MAPPED-ADDRESS (TCP)', async () => {
    const header = v2Header({ address: '198.51.100.9', port: 50002 });
    const mapped = await mappedVia(net.connect(ports.tcp, '127.0.0.1'), header, 'connect');
    expect(mapped).toEqual({ family: 4, address: '198.51.100.9', port: 50002 });
  });

  it('reports the header client over TLS (header before the handshake)', async () => {
    const raw = net.connect(ports.tls, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(v2Header({ address: '192.0.2.44', port: 40404 }));
    const socket = tls.connect({ socket: raw, rejectUnauthorized: false });
    const mapped = await mappedVia(socket, new Uint8Array(), 'secureConnect');
    expect(mapped).toEqual({ family: 4, address: '192.0.2.44', port: 40404 });
  });

  it('keeps the connection address for a LOCAL header (health checks)', async () => {
    const local = Buffer.concat([Buffer.from(PROXY_V2_SIGNATURE), Buffer.from([0x20, 0, 0, 0])]);
    const socket = net.connect(ports.tcp, '127.0.0.1');
    const mapped = await mappedVia(socket, local, 'connect');
    expect(mapped).toMatchObject({ family: 4, address: '127.0.0.1' });
  });

  it('closes a connection from a configured source that sends no header', async () => {
    const mapped = await mappedVia(
      net.connect(ports.tcp, '127.0.0.1'),
      new Uint8Array(),
      'connect',
    );
    expect(mapped).toBe('closed');
  });

  it('refuses a header from a source that is not configured', async () => {
    const header = Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 40001 3478\r\n');
    const socket = net.connect(ports.otherTcp, '127.0.0.1');
    expect(await mappedVia(socket, header, 'connect')).toBe('closed');
    const v2 = net.connect(ports.otherTcp, '127.0.0.1');
    expect(await mappedVia(v2, v2Header({ address: '192.0.2.1', port: 1 }), 'connect')).toBe(
      'closed',
    );
    expect(other.gauges.droppedByDriver().get('proxy-protocol')).toBe(2);
  });
});

describe('HTTP on a TURN TCP port', () => {
  it('answers 400 naming the HTTPS port, then closes', async () => {
    const socket = net.connect(ports.otherTcp, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: turn.example.org:3478\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(text).toContain('This is a STUN/TURN port');
    expect(text).toContain('does not serve HTTP');
  });

  it('names https://host:port/ when the node has an HTTPS port', async () => {
    const raw = net.connect(ports.tcp, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 40001 3478\r\n'));
    raw.write('GET /console HTTP/1.1\r\nHost: turn.example.org:3478\r\n\r\n');
    let text = '';
    raw.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    await new Promise((resolve) => raw.once('close', resolve));
    expect(text).toContain('use https://turn.example.org:8443/');
  });
});

describe('TurnServer.acceptStream', () => {
  it('serves an adopted TLS stream as a TLS client, with the remote given', async () => {
    const front = tls.createServer({
      cert: readFileSync(cert.certFile),
      key: readFileSync(cert.keyFile),
    });
    front.on('secureConnection', (socket: tls.TLSSocket) => {
      server.acceptStream(socket, 'tls', { family: 4, address: '192.0.2.99', port: 4242 });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const port = (front.address() as net.AddressInfo).port;
      const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      const mapped = await mappedVia(socket, new Uint8Array(), 'secureConnect');
      expect(mapped).toEqual({ family: 4, address: '192.0.2.99', port: 4242 });
    } finally {
      await new Promise((resolve) => front.close(resolve));
    }
  });
});
