/**
 * The signaling proxy under attack. Against the real `cloudproxy start` (proxy allowed to one
 * test upstream only): open-proxy request lines (absolute form, CONNECT), Host header games,
 * request smuggling (CL+TE, duplicate Content-Length, obs-fold), path traversal and encoded-host
 * tricks are refused, or reach that one upstream and nothing else. In process, with a resolver
 * that changes its answers: DNS rebinding to loopback is refused at connect time.
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createProxyServer, type ProxyServer, type ResolvedAddress } from '@cloudproxy/proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type StartedSystem } from '../helpers/cloudproxy-start.js';
import { startHttpsUpstream, type HttpsUpstream } from '../helpers/https-upstream.js';

let upstream: HttpsUpstream;
let system: StartedSystem;
let configDir: string;

beforeAll(async () => {
  upstream = await startHttpsUpstream();
  configDir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-proxy-attack-'));
  const config = path.join(configDir, 'start.yaml');
  writeFileSync(
    config,
    [
      'proxy:',
      "  allowHosts: ['127.0.0.1']",
      `  allowPorts: [${upstream.port}]`,
      "  allowPrivateUpstream: ['127.0.0.1/32']",
      `  upstreamCa: ${upstream.pki.caFile}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  system = await startSystem({ extraArgs: ['--config', config] });
});

afterAll(async () => {
  await system.cleanup();
  await upstream.close();
  rmSync(configDir, { recursive: true, force: true });
});

/** Sends raw bytes over TLS to `port` and resolves with the status of the first response (0: none). */
function raw(port: number, ca: string, text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca,
      servername: 'localhost',
      ALPNProtocols: ['http/1.1'],
    });
    let data = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      resolve({ status: status ? Number(status[1]) : 0, body: data });
    };
    const timer = setTimeout(done, 3000);
    socket.on('secureConnect', () => socket.write(text.replaceAll('\n', '\r\n')));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n\r\n')) setTimeout(done, 100);
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

function get(target: string, headers = 'Host: localhost\n'): string {
  return `GET ${target} HTTP/1.1\n${headers}Connection: close\n\n`;
}

async function attack(text: string): Promise<{ status: number; forwarded: string[] }> {
  const before = upstream.requests.length;
  const answer = await raw(system.httpsPort, system.certPem, text);
  return {
    status: answer.status,
    forwarded: upstream.requests.slice(before).map((r) => `${r.headers.host ?? ''} ${r.url}`),
  };
}

describe('baseline', () => {
  it('forwards /127.0.0.1:PORT/path to the one allowed upstream', async () => {
    const { status, forwarded } = await attack(get(`/127.0.0.1:${String(upstream.port)}/hello`));
    expect(status).toBe(200);
    expect(forwarded).toEqual([`127.0.0.1:${upstream.port} /hello`]);
  });
});

describe('open-proxy attempts', () => {
  const p = (): number => upstream.port;
  it.each([
    ['absolute-form to the allowed upstream', () => get(`https://127.0.0.1:${p()}/x`)],
    [
      'absolute-form to the metadata service',
      () => get('http://169.254.169.254/latest/meta-data/'),
    ],
    [
      'CONNECT to the allowed upstream',
      () => `CONNECT 127.0.0.1:${p()} HTTP/1.1\nHost: 127.0.0.1:${p()}\n\n`,
    ],
    ['CONNECT to the metadata service', () => 'CONNECT 169.254.169.254:80 HTTP/1.1\nHost: x\n\n'],
    ['Host header naming the upstream', () => get('/x', `Host: 127.0.0.1:${p()}\n`)],
    ['asterisk-form OPTIONS', () => 'OPTIONS * HTTP/1.1\nHost: localhost\n\n'],
  ])('%s is refused and nothing is forwarded', async (_name, make) => {
    const { status, forwarded } = await attack(make());
    expect(status === 0 || (status >= 400 && status < 500), `status ${status}`).toBe(true);
    expect(forwarded).toEqual([]);
  });

  it('a hostile Host header does not change where a proxy path goes, nor the upstream Host', async () => {
    const { forwarded } = await attack(get(`/127.0.0.1:${p()}/h`, 'Host: 169.254.169.254\n'));
    expect(forwarded).toEqual([`127.0.0.1:${p()} /h`]);
  });
});

describe('request smuggling', () => {
  const target = (): string => `/127.0.0.1:${String(upstream.port)}/smuggle`;
  const smuggled = 'GET /127.0.0.1/admin HTTP/1.1\nHost: localhost\n\n';
  it.each([
    [
      'Content-Length and Transfer-Encoding together',
      () =>
        `POST ${target()} HTTP/1.1\nHost: localhost\nContent-Length: 4\nTransfer-Encoding: chunked\n\n0\n\n${smuggled}`,
    ],
    [
      'two different Content-Length headers',
      () =>
        `POST ${target()} HTTP/1.1\nHost: localhost\nContent-Length: 4\nContent-Length: 40\n\nabcd${smuggled}`,
    ],
    [
      'Transfer-Encoding with obs-fold',
      () =>
        `POST ${target()} HTTP/1.1\nHost: localhost\nTransfer-Encoding:\n chunked\nContent-Length: 3\n\nabc`,
    ],
    [
      'a header continued by obs-fold',
      () => `GET ${target()} HTTP/1.1\nHost: localhost\nX-Folded: a\n b\n\n`,
    ],
    [
      'Transfer-Encoding: chunked, identity',
      () =>
        `POST ${target()} HTTP/1.1\nHost: localhost\nTransfer-Encoding: chunked, identity\n\n0\n\n`,
    ],
  ])('%s: 400 and nothing forwarded', async (_name, make) => {
    const { status, forwarded } = await attack(make());
    expect(status).toBe(400);
    expect(forwarded).toEqual([]);
  });
});

describe('path traversal and encoded hosts', () => {
  const port = (): string => String(upstream.port);
  const refused = [
    '/..%2f..%2f169.254.169.254/latest',
    '/%2e%2e/169.254.169.254/',
    '/%31%32%37.0.0.1:PORT/x',
    '/127.0.0.1%3aPORT/x',
    '/127.0.0.1%2f@169.254.169.254/x',
    '/2130706433:PORT/x',
    '/0x7f.1:PORT/x',
    '/0x7f000001:PORT/x',
    '/0177.0.0.1:PORT/x',
    '/127.1:PORT/x',
    '/[::ffff:127.0.0.1]:PORT/x',
    '/[::ffff:7f00:1]:PORT/x',
    '/[::1]:PORT/x',
    '/user@127.0.0.1:PORT/x',
    '/evil.example@127.0.0.1:PORT/x',
    '/127.0.0.1:PORT@evil.example/x',
    '/127.0.0.1:PORT\\@169.254.169.254/x',
    '/127.0.0.1\\169.254.169.254/x',
    '/169.254.169.254/latest/meta-data/',
    '/localhost:PORT/x',
    '/127.0.0.1:22/x',
    '/127.0.0.1:0PORT/x',
    '/127.0.0.1.:PORT/x',
  ];
  it.each(refused)('%s is refused with a 4xx and nothing is forwarded', async (pattern) => {
    const { status, forwarded } = await attack(get(pattern.replaceAll('PORT', port())));
    expect(status >= 400 && status < 500, `status ${status}`).toBe(true);
    expect(forwarded).toEqual([]);
  });

  it.each([
    ['/127.0.0.1:PORT/..%2f..%2fetc/passwd', '/..%2f..%2fetc/passwd'],
    ['/127.0.0.1:PORT/../../x', '/../../x'],
    ['/127.0.0.1:PORT//169.254.169.254/x', '//169.254.169.254/x'],
  ])('%s stays on the allowed upstream (path passed as is)', async (pattern, path) => {
    const { forwarded } = await attack(get(pattern.replaceAll('PORT', port())));
    expect(forwarded.every((f) => f.startsWith(`127.0.0.1:${port()} `))).toBe(true);
    if (forwarded.length > 0) expect(forwarded).toEqual([`127.0.0.1:${port()} ${path}`]);
  });
});

describe('DNS rebinding through a test resolver', () => {
  let proxy: ProxyServer;
  let answers: (readonly ResolvedAddress[])[] = [];
  let lookups = 0;
  beforeAll(async () => {
    proxy = await createProxyServer({
      listen: { host: '127.0.0.1', port: 0 },
      tls: { cert: upstream.pki.certPem, key: upstream.pki.keyPem },
      allowHosts: ['rebind.example.com'],
      allowPorts: [upstream.port],
      upstreamCa: Buffer.from(upstream.pki.caPem),
      lookup: () => {
        lookups++;
        return Promise.resolve(answers.shift() ?? [{ address: '127.0.0.1', family: 4 }]);
      },
    });
  });
  afterAll(async () => {
    await proxy.close();
  });

  const send = async (): Promise<{ status: number; forwarded: number }> => {
    const before = upstream.requests.length;
    const answer = await raw(
      proxy.address().port,
      upstream.pki.caPem,
      get(`/rebind.example.com:${String(upstream.port)}/x`),
    );
    return { status: answer.status, forwarded: upstream.requests.length - before };
  };

  it('checks every connection: public first, then 127.0.0.1, is refused the second time', async () => {
    answers = [[{ address: '93.184.215.14', family: 4 }], [{ address: '127.0.0.1', family: 4 }]];
    lookups = 0;
    const first = await send();
    expect(first.forwarded).toBe(0); // the public address is not reachable from here
    const second = await send();
    expect(second.status).toBe(403);
    expect(second.forwarded).toBe(0);
    expect(lookups).toBeGreaterThanOrEqual(2);
  });

  it('refuses a name whose answers mix a public and a private address', async () => {
    answers = [
      [
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    ];
    const { status, forwarded } = await send();
    expect(status).toBe(403);
    expect(forwarded).toBe(0);
  });

  it.each(['::ffff:127.0.0.1', '::1', '169.254.169.254', '0.0.0.0', '64:ff9b::7f00:1'])(
    'refuses a name resolving to %s',
    async (address) => {
      answers = [[{ address, family: address.includes(':') ? 6 : 4 }]];
      const { status, forwarded } = await send();
      expect(status).toBe(403);
      expect(forwarded).toBe(0);
    },
  );
});
