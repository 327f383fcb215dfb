import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_HELLO_MAX_BYTES, readClientHello } from './client-hello.js';
import type { ClientHelloInfo } from './client-hello.js';

const OPENSSL_BIN = '/usr/bin/openssl';
const UCLIENT_BIN = '/usr/bin/turnutils_uclient';
/** How long a client may take to send its ClientHello. */
const CAPTURE_TIMEOUT_MS = 10_000;
const RECORD_HEADER_BYTES = 5;

/** Starts a client against `port`; returns how to stop it. */
type StartClient = (port: number) => () => void;

/** A client started by Node: errors are swallowed, as the capture server hangs up. */
function nodeClient(options: tls.ConnectionOptions): StartClient {
  return (port) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.on('error', () => undefined);
    return () => socket.destroy();
  };
}

/** A client process, killed once its ClientHello is captured (or on timeout). */
function processClient(bin: string, args: (port: number) => string[]): StartClient {
  return (port) => {
    const child = spawn(bin, args(port), { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', () => undefined);
    return () => child.kill('SIGKILL');
  };
}

/**
 * Captures the first bytes a real client sends: a TCP server on 127.0.0.1 collects the bytes of
 * the first connection until readClientHello stops saying 'incomplete', then hangs up.
 */
async function captureHello(start: StartClient): Promise<Uint8Array> {
  const sockets = new Set<net.Socket>();
  let done: (bytes: Uint8Array) => void = () => undefined;
  const captured = new Promise<Uint8Array>((resolve) => (done = resolve));
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let bytes = new Uint8Array(0);
    socket.on('data', (chunk: Buffer) => {
      bytes = new Uint8Array([...bytes, ...chunk]);
      if (readClientHello(bytes) !== 'incomplete') done(bytes);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = start((server.address() as net.AddressInfo).port);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error('no ClientHello captured in time'));
    }, CAPTURE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([captured, timeout]);
  } finally {
    clearTimeout(timer);
    stop();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}

/** The end of the first record, from its header. */
function recordEnd(hello: Uint8Array): number {
  return RECORD_HEADER_BYTES + (hello[3]! << 8) + hello[4]!;
}

/** Whether a result has the declared shape and a host name as readClientHello promises it. */
function expectWellTyped(result: ClientHelloInfo | 'incomplete' | undefined): void {
  if (result === undefined || result === 'incomplete') return;
  if (result.serverName !== undefined) expect(result.serverName).toMatch(/^[\x21-\x40\x5b-\x7e]+$/);
  expect(result.serverName?.length ?? 1).toBeLessThanOrEqual(255);
  expect(Array.isArray(result.alpn)).toBe(true);
  for (const name of result.alpn) {
    expect(typeof name).toBe('string');
    expect(name.length).toBeGreaterThan(0);
  }
}

/** A seeded PRNG (mulberry32): random cases that are the same on every run. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface RealClient {
  readonly name: string;
  readonly available: boolean;
  readonly start: StartClient;
  readonly expected: ClientHelloInfo;
}

const REAL_CLIENTS: readonly RealClient[] = [
  {
    name: 'Node, SNI and ALPN h2 + http/1.1',
    available: true,
    start: nodeClient({ servername: 'turn.example.org', ALPNProtocols: ['h2', 'http/1.1'] }),
    expected: { serverName: 'turn.example.org', alpn: ['h2', 'http/1.1'] },
  },
  {
    name: 'Node, SNI and ALPN stun.turn',
    available: true,
    start: nodeClient({ servername: 'turn.example.org', ALPNProtocols: ['stun.turn'] }),
    expected: { serverName: 'turn.example.org', alpn: ['stun.turn'] },
  },
  {
    name: 'Node to an IP address, no SNI, no ALPN',
    available: true,
    start: nodeClient({ servername: '' }),
    expected: { serverName: undefined, alpn: [] },
  },
  {
    name: 'Node, TLS 1.2 only',
    available: true,
    start: nodeClient({
      servername: 'turn.example.org',
      ALPNProtocols: ['http/1.1'],
      maxVersion: 'TLSv1.2',
    }),
    expected: { serverName: 'turn.example.org', alpn: ['http/1.1'] },
  },
  {
    name: 'openssl s_client',
    available: existsSync(OPENSSL_BIN),
    start: processClient(OPENSSL_BIN, (port) => [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-servername',
      'Foo.Example.ORG',
      '-alpn',
      'http/1.1',
    ]),
    expected: { serverName: 'foo.example.org', alpn: ['http/1.1'] },
  },
  {
    // coturn's client sends no SNI but offers http/1.1 first, then the STUN protocols.
    name: "coturn's turnutils_uclient",
    available: existsSync(UCLIENT_BIN),
    start: processClient(UCLIENT_BIN, (port) => [
      '-S',
      '-t',
      '-y',
      '-n',
      '1',
      '-p',
      String(port),
      '127.0.0.1',
    ]),
    expected: { serverName: undefined, alpn: ['http/1.1', 'stun.turn', 'stun.nat-discovery'] },
  },
];

for (const client of REAL_CLIENTS) {
  describe.skipIf(!client.available)(
    `readClientHello on a real ClientHello: ${client.name}`,
    () => {
      let hello: Uint8Array = new Uint8Array(0);
      beforeAll(async () => {
        hello = await captureHello(client.start);
      });

      it('reads its server name and ALPN protocols', () => {
        expect(hello.length).toBeLessThanOrEqual(CLIENT_HELLO_MAX_BYTES);
        expect(recordEnd(hello)).toBe(hello.length);
        expect(readClientHello(hello)).toEqual(client.expected);
      });

      it('says incomplete for every proper prefix', () => {
        for (let length = 0; length < hello.length; length++) {
          expect(readClientHello(hello.subarray(0, length))).toBe('incomplete');
        }
      });

      it('ignores the bytes after the first record', () => {
        const garbage = new Uint8Array([...hello, 0x17, 0x03, 0x03, 0xff, 0xff, 1, 2, 3]);
        expect(readClientHello(garbage)).toEqual(client.expected);
      });

      it('never throws when any one byte is flipped', () => {
        for (let i = 0; i < hello.length; i++) {
          const mutated = hello.slice();
          mutated[i]! ^= 0xff;
          expectWellTyped(readClientHello(mutated));
        }
      });

      it('never throws when random bytes are written over it (seeded)', () => {
        const random = prng(0xc0ffee);
        for (let run = 0; run < 3000; run++) {
          const mutated = hello.slice(0, 1 + Math.floor(random() * hello.length));
          const writes = 1 + Math.floor(random() * 8);
          for (let w = 0; w < writes; w++) {
            mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
          }
          expectWellTyped(readClientHello(mutated));
        }
      });
    },
  );
}

const u16 = (n: number): number[] => [n >> 8, n & 0xff];
const u24 = (n: number): number[] => [n >> 16, (n >> 8) & 0xff, n & 0xff];
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** An extension: type(2), length(2), body. */
const extension = (type: number, body: number[]): number[] => [
  ...u16(type),
  ...u16(body.length),
  ...body,
];

/** A server_name extension with one host_name entry. */
function sni(name: string): number[] {
  const entry = [0, ...u16(name.length), ...ascii(name)];
  return extension(0, [...u16(entry.length), ...entry]);
}

/** An ALPN extension offering `names`. */
function alpn(...names: string[]): number[] {
  const list = names.flatMap((name) => [name.length, ...ascii(name)]);
  return extension(16, [...u16(list.length), ...list]);
}

interface HelloParts {
  readonly contentType?: number;
  readonly handshakeType?: number;
  /** Added to the handshake length written in the header. */
  readonly handshakeLengthExtra?: number;
  /** The extensions, each built by `extension`; undefined: no extensions block at all. */
  readonly extensions?: number[][] | undefined;
}

/** A hand-built ClientHello in one record: TLS 1.2 layout, one cipher suite, null compression. */
function buildHello(parts: HelloParts): Uint8Array {
  const body = [
    ...[0x03, 0x03],
    ...new Array<number>(32).fill(0xaa), // random
    0, // session id
    ...u16(2),
    ...[0x13, 0x01], // TLS_AES_128_GCM_SHA256
    1,
    0, // compression: null
  ];
  if (parts.extensions !== undefined) {
    const block = parts.extensions.flat();
    body.push(...u16(block.length), ...block);
  }
  const handshake = [
    parts.handshakeType ?? 1,
    ...u24(body.length + (parts.handshakeLengthExtra ?? 0)),
    ...body,
  ];
  return new Uint8Array([
    parts.contentType ?? 22,
    0x03,
    0x01,
    ...u16(handshake.length),
    ...handshake,
  ]);
}

describe('readClientHello on hand-built ClientHellos', () => {
  it('reads SNI (lower-cased) and ALPN', () => {
    const hello = buildHello({ extensions: [sni('Turn.Example.ORG'), alpn('h2', 'http/1.1')] });
    expect(readClientHello(hello)).toEqual({
      serverName: 'turn.example.org',
      alpn: ['h2', 'http/1.1'],
    });
  });

  it('reads a ClientHello without an extensions block', () => {
    expect(readClientHello(buildHello({}))).toEqual({ serverName: undefined, alpn: [] });
  });

  it('decides from the first byte that a plain HTTP request is no ClientHello', () => {
    expect(readClientHello(new Uint8Array(ascii('G')))).toBeUndefined();
  });

  it.each<[string, Uint8Array]>([
    ['an application data record (type 23)', buildHello({ contentType: 23, extensions: [] })],
    ['a ServerHello (handshake type 2)', buildHello({ handshakeType: 2, extensions: [] })],
    [
      'a handshake longer than the record (a split ClientHello)',
      buildHello({ handshakeLengthExtra: 1, extensions: [sni('a.example')] }),
    ],
    ['a duplicated ALPN extension', buildHello({ extensions: [alpn('h2'), alpn('http/1.1')] })],
    ['an ALPN name of zero length', buildHello({ extensions: [alpn('h2', '')] })],
    ['an empty ALPN list', buildHello({ extensions: [alpn()] })],
    ['a server name with a space', buildHello({ extensions: [sni('a b.example')] })],
    ['an empty server name', buildHello({ extensions: [sni('')] })],
    ['a server name of 256 bytes', buildHello({ extensions: [sni('a'.repeat(256))] })],
    [
      'an extension longer than the extensions block',
      buildHello({ extensions: [[0x00, 0x0a, 0x00, 0x08, 0x00, 0x02]] }),
    ],
    ['a record of length 0', new Uint8Array([22, 3, 1, 0, 0])],
    ['a record longer than 2^14 bytes', new Uint8Array([22, 3, 1, 0x40, 0x01])],
  ])('refuses %s', (_name, input) => {
    expect(readClientHello(input)).toBeUndefined();
  });

  it('accepts a server name of 255 bytes', () => {
    const name = 'a'.repeat(255);
    expect(readClientHello(buildHello({ extensions: [sni(name)] }))).toEqual({
      serverName: name,
      alpn: [],
    });
  });
});
