/**
 * The one-port listener with the native data plane of a real TurnServer, wired as `cloudproxy
 * start` wires them: clients that offer `stun.turn` or no ALPN are handed to the addon before
 * their handshake (TURN is served there; an HTTP request is piped to the HTTP/1.1 server), and
 * clients that offer HTTP protocols only, or whose SNI name is pinned to HTTP, go to Node's TLS
 * server as before. Clients the addon cannot serve (a failed or timed-out handshake, first bytes
 * neither TURN nor HTTP) are counted by the listener, as on Node's path, not by TURN.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { loadDataPlane } from '@cloudproxy/dataplane';
import { PROXY_V2_SIGNATURE } from '@cloudproxy/turn';
import { TurnServer, createProxySources } from '@cloudproxy/turn/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeSelfSignedCert } from '../../../test/helpers/certs.js';
import type { TestCertificate } from '../../../test/helpers/certs.js';
import { OnePortListener } from './one-port-listener.js';
import type { PortCertificates, PortDropReason } from './one-port-listener.js';

const describeNative = loadDataPlane() ? describe : describe.skip;

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;
const STUN_HEADER_BYTES = 20;
const GET = 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

let main: TestCertificate;
let turnCert: TestCertificate;
let webCert: TestCertificate;
let renewed: TestCertificate;
let certificates: PortCertificates;
let server: TurnServer;
let listener: OnePortListener;
let port = 0;
const routed: string[] = [];
const dropped: PortDropReason[] = [];
/** Sockets of the current test, destroyed after it. */
const open: net.Socket[] = [];
/** Answers `address:port encrypted`, and echoes POST bodies. */
const web = http.createServer((req, res) => {
  if (req.method === 'POST') {
    req.pipe(res);
    return;
  }
  const socket = req.socket as net.Socket & { encrypted?: boolean };
  res.end(
    `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0} ${String(socket.encrypted === true)}`,
  );
});

/** Where to connect from and what to send before TLS, with the TLS client's options. */
type Dial = tls.ConnectionOptions & { prefix?: Buffer; localAddress?: string; localPort?: number };

function pem(cert: TestCertificate): { cert: string; key: string } {
  return { cert: cert.certPem, key: readFileSync(cert.keyFile, 'utf8') };
}

function adopted(): number {
  return server.gauges.dataPlane()?.streamsAdopted ?? 0;
}

/** How many connections the listener dropped for `reason`. */
function drops(reason: PortDropReason): number {
  return dropped.filter((r) => r === reason).length;
}

/** How many connections or frames TURN dropped as malformed. */
function malformed(): number {
  return server.gauges.droppedByDriver().get('malformed') ?? 0;
}

/** Resolves once `check()` holds (polled); rejects naming `what` after `ms`. */
async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

beforeAll(async () => {
  main = makeSelfSignedCert('localhost');
  turnCert = makeSelfSignedCert('turn.test');
  webCert = makeSelfSignedCert('web.test');
  renewed = makeSelfSignedCert('localhost');
  certificates = {
    ...pem(main),
    sni: [
      { host: 'turn.test', ...pem(turnCert), role: 'turn' },
      { host: 'web.test', ...pem(webCert), role: 'http' },
    ],
  };
  server = new TurnServer({
    realm: 'example.org',
    auth: { users: { alice: 'wonderland' } },
    listeningIps: ['127.0.0.1'],
    listeningPort: 0,
    noTcp: true,
    noTls: true,
    dataPlane: 'native',
    dataPlaneThreads: 2,
  });
  await server.listen();
  listener = new OnePortListener(
    { certificates, proxySources: createProxySources(['127.0.0.2']), peekTimeoutMs: 300 },
    {
      turn: (socket, remote) => server.acceptStream(socket, 'tls', remote),
      http1: (socket) => web.emit('connection', socket),
      h2: (socket) => socket.resume().end('h2'),
      native: server.nativeTls,
      onRouted: (protocol, how) => routed.push(`${protocol}/${how}`),
      onDropped: (reason) => dropped.push(reason),
    },
  );
  port = (await listener.listen('127.0.0.1', 0)).port;
});

afterEach(() => {
  for (const socket of open.splice(0)) socket.destroy();
});

afterAll(async () => {
  await listener.close();
  await server.close();
  web.closeAllConnections();
  web.close();
  for (const cert of [main, turnCert, webCert, renewed]) cert.cleanup();
});

/** Connects (from `localAddress`, writing `prefix` before TLS); resolves after the handshake. */
async function connectTls(options: Dial): Promise<tls.TLSSocket> {
  const { prefix, localAddress, localPort, ...tlsOptions } = options;
  const raw = net.connect({ port, host: '127.0.0.1', localAddress, localPort });
  open.push(raw);
  await once(raw, 'connect');
  if (prefix) raw.write(prefix);
  const socket = tls.connect({ ...tlsOptions, socket: raw, rejectUnauthorized: false });
  open.push(socket);
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  return socket;
}

/** Reads from `socket` until `enough(bytes)` holds or it closes; everything read. */
function readUntil(socket: net.Socket, enough: (bytes: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (): void => {
      socket.off('data', onData);
      socket.off('close', finish);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      if (enough(Buffer.concat(chunks))) finish();
    };
    socket.on('data', onData);
    socket.once('close', finish);
  });
}

/** The TLS session's certificate CN and SHA-256 fingerprint, the ALPN protocol, the client port. */
function session(socket: tls.TLSSocket): {
  subject: string;
  fingerprint: string;
  alpn: string | false;
  localPort: number;
} {
  const peer = socket.getPeerCertificate();
  return {
    subject: String(peer.subject.CN),
    fingerprint: peer.fingerprint256,
    alpn: socket.alpnProtocol ?? false,
    localPort: socket.localPort ?? -1,
  };
}

/** XOR-MAPPED-ADDRESS of a STUN message (IPv4), as `address:port`. */
function xorMapped(message: Buffer): string | undefined {
  for (let at = STUN_HEADER_BYTES; at + 4 <= message.length;) {
    const type = message.readUInt16BE(at);
    const length = message.readUInt16BE(at + 2);
    if (type === XOR_MAPPED_ADDRESS && length === 8) {
      const p = message.readUInt16BE(at + 6) ^ (MAGIC_COOKIE >>> 16);
      const ip = (message.readUInt32BE(at + 8) ^ MAGIC_COOKIE) >>> 0;
      return `${[ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.')}:${p}`;
    }
    at += 4 + ((length + 3) & ~3);
  }
  return undefined;
}

/** A STUN Binding request over TLS: the answer's type, whether its transaction id matches, … */
async function binding(options: Dial = {}) {
  const socket = await connectTls(options);
  const transactionId = randomBytes(12);
  const request = Buffer.alloc(STUN_HEADER_BYTES);
  request.writeUInt16BE(BINDING_REQUEST, 0);
  request.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(request, 8);
  const reply = readUntil(
    socket,
    (b) => b.length >= STUN_HEADER_BYTES && b.length >= STUN_HEADER_BYTES + b.readUInt16BE(2),
  );
  socket.write(request);
  const answer = await reply;
  const result = {
    ...session(socket),
    type: answer.length >= STUN_HEADER_BYTES ? answer.readUInt16BE(0) : -1,
    sameTransaction: answer.subarray(8, STUN_HEADER_BYTES).equals(transactionId),
    mapped: xorMapped(answer),
  };
  socket.destroy();
  return result;
}

/** Sends `data` over TLS and reads until the server closes: the text and the session. */
async function exchange(options: Dial, data: string | Buffer) {
  const socket = await connectTls(options);
  const tlsSession = session(socket); // (gone once closed)
  const received = readUntil(socket, () => false);
  socket.write(data);
  const text = (await received).toString('latin1');
  return { ...tlsSession, text, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

/** An HTTPS request with Node's client (which offers no ALPN): status and body. */
async function request(
  options: https.RequestOptions,
  body?: Buffer,
): Promise<{ status: number; body: Buffer }> {
  const req = https.request({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
  const response = once(req, 'response');
  req.end(body);
  const [res] = (await response) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, body: Buffer.concat(chunks) };
}

/** The ClientHello Node's TLS client sends first (no ALPN), captured from an unconnected stream. */
async function clientHello(): Promise<Buffer> {
  let client: tls.TLSSocket | undefined;
  const hello = new Promise<Buffer>((resolve) => {
    const wire = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _encoding, done) => {
        resolve(chunk);
        done();
      },
    });
    client = tls.connect({ socket: wire, rejectUnauthorized: false });
    client.on('error', () => undefined);
  });
  const bytes = await hello;
  client?.destroy();
  return bytes;
}

/** Connects a plain TCP socket that writes `bytes`; resolves once written, with its close. */
async function connectRaw(bytes: Buffer): Promise<{ closed: Promise<unknown> }> {
  const raw = net.connect({ port, host: '127.0.0.1' });
  open.push(raw);
  raw.on('error', () => undefined);
  const closed = once(raw, 'close');
  await once(raw, 'connect');
  raw.resume().write(bytes);
  return { closed };
}

function proxyV2Header(): Buffer {
  const body = Buffer.alloc(12);
  body.set([203, 0, 113, 5, 127, 0, 0, 1]);
  body.writeUInt16BE(41000, 8);
  body.writeUInt16BE(443, 10);
  return Buffer.concat([Buffer.from(PROXY_V2_SIGNATURE), Buffer.from([0x21, 0x11, 0, 12]), body]);
}

describeNative('OnePortListener with the native data plane', () => {
  it('serves a TURN client without ALPN, or offering stun.turn, on the native plane', async () => {
    const before = adopted();
    const peek = await binding();
    expect(peek).toMatchObject({ type: BINDING_SUCCESS, sameTransaction: true, alpn: false });
    expect(peek.mapped).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(adopted()).toBe(before + 1);
    expect(routed.at(-1)).toBe('turn/peek');

    const alpn = await binding({ ALPNProtocols: ['stun.turn'] });
    expect(alpn).toMatchObject({ type: BINDING_SUCCESS, sameTransaction: true, alpn: 'stun.turn' });
    expect(adopted()).toBe(before + 2);
    expect(routed.at(-1)).toBe('turn/alpn');

    // coturn's uclient offers both.
    const uclient = await binding({ ALPNProtocols: ['http/1.1', 'stun.turn'] });
    expect(uclient).toMatchObject({ type: BINDING_SUCCESS, alpn: 'stun.turn' });
    expect(adopted()).toBe(before + 3);
    expect(routed.at(-1)).toBe('turn/alpn');
  });

  it('pipes an HTTP client without ALPN to the HTTP/1.1 server', async () => {
    const before = adopted();
    const socket = await connectTls({});
    const clientPort = socket.localPort ?? -1; // (gone once closed)
    const received = readUntil(socket, () => false);
    socket.write(GET);
    const text = (await received).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text.endsWith(`\r\n\r\n127.0.0.1:${clientPort} true`)).toBe(true);
    expect(adopted()).toBe(before + 1);
    expect(routed.at(-1)).toBe('http/1.1/peek');
  });

  it('keeps a piped connection alive over several requests', async () => {
    const before = adopted();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answers: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { status, body } = await request({ path: `/${i}`, agent });
        expect(status).toBe(200);
        answers.push(body.toString());
      }
      expect(answers[0]).toMatch(/^127\.0\.0\.1:\d+ true$/);
      expect(new Set(answers).size).toBe(1); // one connection, one client port
      expect(adopted()).toBe(before + 1);
    } finally {
      agent.destroy();
    }
  });

  it('pipes a 1 MiB request body and its echo byte-exact', async () => {
    const before = adopted();
    const body = randomBytes(1024 * 1024);
    const answer = await request(
      { method: 'POST', path: '/echo', agent: false, headers: { 'content-length': body.length } },
      body,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(body.length);
    expect(answer.body.equals(body)).toBe(true);
    expect(adopted()).toBe(before + 1);
  });

  it('leaves clients that offer HTTP protocols only to Node’s TLS server', async () => {
    const before = adopted();
    const h2 = await exchange({ ALPNProtocols: ['h2', 'http/1.1'] }, 'x');
    expect(h2).toMatchObject({ text: 'h2', alpn: 'h2', subject: 'localhost' });
    expect(routed.at(-1)).toBe('h2/alpn');
    const http1 = await exchange({ ALPNProtocols: ['http/1.1'] }, GET);
    expect(http1.alpn).toBe('http/1.1');
    expect(http1.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(http1.body).toMatch(/^127\.0\.0\.1:\d+ true$/);
    expect(routed.at(-1)).toBe('http/1.1/alpn');
    expect(adopted()).toBe(before);
  });

  it('gives the SNI certificate from the addon and keeps the roles of SNI names', async () => {
    const before = adopted();
    const turn = await binding({ servername: 'turn.test' });
    expect(turn).toMatchObject({
      type: BINDING_SUCCESS,
      sameTransaction: true,
      subject: 'turn.test',
    });
    expect(adopted()).toBe(before + 1);

    const wrong = await exchange({ servername: 'turn.test' }, GET);
    expect(wrong).toMatchObject({ text: '', subject: 'turn.test' });
    expect(dropped.at(-1)).toBe('wrong-role');
    expect(adopted()).toBe(before + 2);

    const site = await exchange({ servername: 'web.test' }, GET);
    expect(site.subject).toBe('web.test');
    expect(site.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(routed.at(-1)).toBe('http/1.1/peek');
    expect(adopted()).toBe(before + 2); // Node's TLS server served it
  });

  it('shows the client of a PROXY header to piped HTTP and to TURN', async () => {
    const before = adopted();
    const viaLb = await exchange({ prefix: proxyV2Header(), localAddress: '127.0.0.2' }, GET);
    expect(viaLb.body).toBe('203.0.113.5:41000 true');
    const turn = await binding({ prefix: proxyV2Header(), localAddress: '127.0.0.2' });
    expect(turn).toMatchObject({ type: BINDING_SUCCESS, mapped: '203.0.113.5:41000' });
    expect(adopted()).toBe(before + 2);
  });

  it('forgets the PROXY client of a connection handed to the addon', async () => {
    const first = await exchange({ prefix: proxyV2Header(), localAddress: '127.0.0.2' }, GET);
    expect(first.body).toBe('203.0.113.5:41000 true');
    // The load balancer's next connection from the same port is a health check (LOCAL), served
    // by Node's TLS server: it is not the client of the earlier header.
    const local = Buffer.concat([Buffer.from(PROXY_V2_SIGNATURE), Buffer.from([0x20, 0, 0, 0])]);
    const next = await exchange(
      {
        prefix: local,
        localAddress: '127.0.0.2',
        localPort: first.localPort,
        ALPNProtocols: ['http/1.1'],
      },
      GET,
    );
    expect(next.body).toBe(`127.0.0.2:${first.localPort} true`);
  });

  it('uses a new default certificate for new clients after setCertificates', async () => {
    const fingerprint = (cert: TestCertificate): string =>
      new X509Certificate(cert.certPem).fingerprint256;
    expect((await binding()).fingerprint).toBe(fingerprint(main));
    listener.setCertificates({ ...certificates, ...pem(renewed) });
    try {
      const after = await binding();
      expect(after).toMatchObject({ type: BINDING_SUCCESS, fingerprint: fingerprint(renewed) });
      const piped = await exchange({}, GET);
      expect(piped.fingerprint).toBe(fingerprint(renewed));
      expect(piped.body).toMatch(/ true$/);
      expect((await binding({ servername: 'turn.test' })).subject).toBe('turn.test');
    } finally {
      listener.setCertificates(certificates);
    }
    expect((await binding()).fingerprint).toBe(fingerprint(main));
  });

  it('counts a failed native handshake as the listener’s, not as malformed TURN', async () => {
    const before = { adopted: adopted(), handshakes: drops('tls-handshake'), bad: malformed() };
    // A TLS client offering only a cipher the policy refuses (static RSA): a handshake failure.
    const refused = connectTls({ maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' });
    await expect(refused).rejects.toThrow();
    await waitFor(() => drops('tls-handshake') === before.handshakes + 1, 'cipher failure');
    // A ClientHello followed by a record of garbage.
    const { closed } = await connectRaw(
      Buffer.concat([await clientHello(), Buffer.alloc(64, 0x16)]),
    );
    await closed;
    await waitFor(() => drops('tls-handshake') === before.handshakes + 2, 'garbage record');
    expect(adopted()).toBe(before.adopted + 2);
    expect(malformed()).toBe(before.bad);
  });

  it.each([
    ['top bits 10', Buffer.from('\x80\x01junk that is neither STUN nor HTTP', 'latin1')],
    ['top bits 00, no magic cookie', Buffer.from('\x00\x01\x00\x04NOPE-no-cookie-here', 'latin1')],
  ])(
    'closes a client without ALPN whose first bytes (%s) are neither TURN nor HTTP, as Node’s path does',
    async (_, garbage) => {
      const before = { adopted: adopted(), unknown: drops('unknown-bytes'), bad: malformed() };
      const native = await exchange({}, garbage);
      expect(adopted()).toBe(before.adopted + 1);
      await waitFor(() => drops('unknown-bytes') === before.unknown + 1, 'native unknown bytes');
      // The same client on Node's path (an SNI name pinned to HTTP stays there).
      const node = await exchange({ servername: 'web.test' }, garbage);
      await waitFor(() => drops('unknown-bytes') === before.unknown + 2, 'Node unknown bytes');
      expect(adopted()).toBe(before.adopted + 1);
      expect(native.text).toBe(node.text);
      expect(native.text).toBe('');
      expect(malformed()).toBe(before.bad);
    },
  );

  it('counts a client that leaves after its handshake, or in the middle of it, as Node’s path does', async () => {
    await waitFor(() => server.gauges.tcpConnections() === 0, 'earlier connections closed');
    const before = {
      adopted: adopted(),
      unknown: drops('unknown-bytes'),
      handshakes: drops('tls-handshake'),
      bad: malformed(),
    };
    // After the handshake, without a byte: on the native path, then on Node's (SNI web.test).
    for (const [servername, n] of [
      [undefined, 1],
      ['web.test', 2],
    ] as const) {
      const socket = await connectTls({ servername });
      socket.end();
      await waitFor(() => drops('unknown-bytes') === before.unknown + n, `silent client ${n}`);
    }
    expect(adopted()).toBe(before.adopted + 1);
    // The ClientHello handed to the addon, then FIN before the handshake is done.
    const { closed } = await connectRaw(await clientHello());
    await waitFor(() => adopted() === before.adopted + 2, 'handed to the addon');
    open.at(-1)?.end();
    await closed;
    await waitFor(() => drops('tls-handshake') === before.handshakes + 1, 'half a handshake');
    expect(drops('unknown-bytes')).toBe(before.unknown + 2);
    expect(malformed()).toBe(before.bad);
  });

  it('counts a client silent until the addon’s first-frame timeout as a failed handshake', async () => {
    const hello = await clientHello();
    // No other client's timers start while the clock is fake.
    await waitFor(() => server.gauges.tcpConnections() === 0, 'earlier connections closed');
    const before = { adopted: adopted(), handshakes: drops('tls-handshake'), bad: malformed() };
    // The timeout (10 s) is the addon's handshake timeout: its timer is faked, sockets are real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let closed: Promise<unknown> | undefined;
    try {
      ({ closed } = await connectRaw(hello)); // and nothing after the ClientHello
      const deadline = Date.now() + 5000;
      while (adopted() === before.adopted) {
        if (Date.now() > deadline) throw new Error('not handed to the addon');
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(drops('tls-handshake')).toBe(before.handshakes);
      vi.advanceTimersByTime(10_000);
    } finally {
      vi.useRealTimers();
    }
    await closed;
    expect(drops('tls-handshake')).toBe(before.handshakes + 1);
    expect(malformed()).toBe(before.bad);
  });

  it('answers a burst of TURN and HTTP clients and forgets them once closed', async () => {
    await waitFor(() => server.gauges.tcpConnections() === 0, 'earlier connections closed');
    const connections = server.gauges.tcpConnections();
    const driverDrops = JSON.stringify([...server.gauges.droppedByDriver()]);
    const before = adopted();
    const clients = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? binding().then((b) => b.type === BINDING_SUCCESS && b.sameTransaction)
        : exchange({}, GET).then((e) => /^127\.0\.0\.1:\d+ true$/.test(e.body)),
    );
    expect(await Promise.all(clients)).toEqual(new Array<boolean>(30).fill(true));
    expect(adopted()).toBe(before + 30);
    for (const socket of open.splice(0)) socket.destroy();
    await waitFor(() => server.gauges.tcpConnections() === connections, 'connections closed');
    await waitFor(() => server.nativePlane?.streams.size === 0, 'native streams ended');
    expect(JSON.stringify([...server.gauges.droppedByDriver()])).toBe(driverDrops);
  });
});
