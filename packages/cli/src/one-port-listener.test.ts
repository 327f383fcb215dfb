import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { PROXY_V2_SIGNATURE } from '@cloudproxy/turn';
import { createProxySources } from '@cloudproxy/turn/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../../test/helpers/certs.js';
import type { TestCertificate } from '../../../test/helpers/certs.js';
import { OnePortListener } from './one-port-listener.js';
import type { PortDropReason } from './one-port-listener.js';

let main: TestCertificate;
let turnCert: TestCertificate;
let listener: OnePortListener;
let port = 0;
const routed: string[] = [];
const dropped: PortDropReason[] = [];
const turnRemotes: (string | undefined)[] = [];
/** The first chunk each TURN connection read, hex. */
const turnFirstChunks: string[] = [];
const web = http.createServer((req, res) => {
  res.end(`${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`);
});

beforeAll(async () => {
  main = makeSelfSignedCert('localhost');
  turnCert = makeSelfSignedCert('turn.test');
  listener = new OnePortListener(
    {
      certificates: {
        cert: main.certPem,
        key: readFileSync(main.keyFile, 'utf8'),
        sni: [
          {
            host: 'turn.test',
            cert: turnCert.certPem,
            key: readFileSync(turnCert.keyFile, 'utf8'),
            role: 'turn',
          },
        ],
      },
      proxySources: createProxySources(['127.0.0.2']),
      peekTimeoutMs: 300,
    },
    {
      turn: (socket, remote) => {
        turnRemotes.push(remote?.address);
        socket.once('data', (chunk: Buffer) => turnFirstChunks.push(chunk.toString('hex')));
        socket.resume(); // read to the client's end, as the TURN server does
        socket.end('turn');
      },
      http1: (socket) => web.emit('connection', socket),
      h2: (socket) => socket.resume().end('h2'),
      onRouted: (protocol, how) => routed.push(`${protocol}/${how}`),
      onDropped: (reason) => dropped.push(reason),
    },
  );
  port = (await listener.listen('127.0.0.1', 0)).port;
});

afterAll(async () => {
  await listener.close();
  main.cleanup();
  turnCert.cleanup();
});

/** Connects (from `localAddress`), optionally writes `prefix` before TLS, sends `data`, returns all received. */
async function exchange(
  options: tls.ConnectionOptions & { prefix?: Buffer; localAddress?: string },
  data: string | Buffer,
): Promise<{ text: string; subject: string; alpn: string | false }> {
  const raw = net.connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
  await new Promise((resolve) => raw.once('connect', resolve));
  if (options.prefix) raw.write(options.prefix);
  const socket = tls.connect({ ...options, socket: raw, rejectUnauthorized: false });
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', (error: Error) => {
      raw.destroy();
      reject(error);
    });
  });
  const subject = String(socket.getPeerCertificate().subject.CN);
  const alpn = socket.alpnProtocol ?? false;
  socket.write(data);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('close', resolve));
  return { text, subject, alpn };
}

const GET = 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
const STUN = Buffer.from([
  0x00,
  0x01,
  0x00,
  0x00,
  0x21,
  0x12,
  0xa4,
  0x42,
  ...new Array<number>(12).fill(7),
]);

describe('OnePortListener', () => {
  it('routes by ALPN: stun.turn to TURN, h2 to HTTP/2', async () => {
    expect((await exchange({ ALPNProtocols: ['stun.turn'] }, STUN)).text).toBe('turn');
    const h2 = await exchange({ ALPNProtocols: ['h2', 'http/1.1'] }, 'x');
    expect(h2).toMatchObject({ text: 'h2', alpn: 'h2' });
    expect(routed.slice(-2)).toEqual(['turn/alpn', 'h2/alpn']);
  });

  it('routes a client without ALPN by its first bytes', async () => {
    expect((await exchange({}, STUN)).text).toBe('turn');
    // The peeked bytes are put back: TURN reads the request it was routed by.
    expect(turnFirstChunks.at(-1)).toBe(STUN.toString('hex'));
    expect((await exchange({}, GET)).text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(routed.slice(-2)).toEqual(['turn/peek', 'http/1.1/peek']);
  });

  it('drops unknown bytes and silent clients, counting why', async () => {
    await exchange({}, Buffer.from([0xff, 0x00, 0x01]));
    await exchange({}, Buffer.alloc(0));
    expect(dropped.slice(-2)).toEqual(['unknown-bytes', 'peek-timeout']);
  });

  it('gives the SNI certificate and pins its host name to TURN', async () => {
    const turn = await exchange({ servername: 'turn.test' }, STUN);
    expect(turn).toMatchObject({ text: 'turn', subject: 'turn.test' });
    const web1 = await exchange({ servername: 'turn.test' }, GET);
    expect(web1.text).toBe('');
    expect(dropped.at(-1)).toBe('wrong-role');
    const other = await exchange({ servername: 'localhost' }, GET);
    expect(other.subject).toBe('localhost');
    expect(other.text).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  it('shows the client of a PROXY header to HTTP and TURN, only from configured sources', async () => {
    const body = Buffer.alloc(12);
    body.set([203, 0, 113, 5, 127, 0, 0, 1]);
    body.writeUInt16BE(41000, 8);
    body.writeUInt16BE(443, 10);
    const prefix = Buffer.concat([
      Buffer.from(PROXY_V2_SIGNATURE),
      Buffer.from([0x21, 0x11, 0, 12]),
      body,
    ]);
    const viaLb = await exchange({ prefix, localAddress: '127.0.0.2' }, GET);
    expect(viaLb.text).toMatch(/203\.0\.113\.5:41000$/);
    await exchange({ prefix, localAddress: '127.0.0.2' }, STUN);
    expect(turnRemotes.at(-1)).toBe('203.0.113.5');
    await expect(exchange({ prefix, localAddress: '127.0.0.1' }, GET)).rejects.toThrow();
    expect(dropped.at(-1)).toBe('tls-handshake');
  });
});
