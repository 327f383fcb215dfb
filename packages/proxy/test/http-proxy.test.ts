/**
 * The HTTP path against a real HTTPS upstream on loopback (test CA): routing, headers, CORS,
 * every refusal, redirects, limits, metrics.
 */
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHttpsUpstream } from '../../../test/helpers/https-upstream.js';
import type { HttpsUpstream } from '../../../test/helpers/https-upstream.js';
import { errorCode, startProxy, testLookup } from './harness.js';
import type { ProxyFixture } from './harness.js';
import type { SignalingProxyOptions } from '../src/index.js';

let upstream: HttpsUpstream;
let fixtures: ProxyFixture[] = [];

beforeAll(async () => {
  upstream = await startHttpsUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await Promise.all(fixtures.map((f) => f.close()));
  fixtures = [];
});

async function proxy(overrides: Partial<SignalingProxyOptions> = {}): Promise<ProxyFixture> {
  const fixture = await startProxy(upstream, overrides);
  fixtures.push(fixture);
  return fixture;
}

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyBytes: number;
  body: string;
}

describe('routing', () => {
  it('forwards method, path, query, headers and body, with Host and SNI set to the upstream', async () => {
    const f = await proxy();
    const before = upstream.requests.length;
    const res = await f.send(`/upstream.test:${upstream.port}/echo/a%2Fb?x=1&y=%20z`, {
      method: 'PUT',
      headers: { authorization: 'Bearer secret', 'content-type': 'text/plain', 'x-sdk': '1' },
      body: 'payload',
    });
    expect(res.statusCode).toBe(200);
    const echo = (await res.body.json()) as Echo;
    expect(echo).toMatchObject({
      method: 'PUT',
      url: '/echo/a%2Fb?x=1&y=%20z',
      bodyBytes: 7,
      body: 'payload',
    });
    expect(echo.headers).toMatchObject({
      host: `upstream.test:${upstream.port}`,
      authorization: 'Bearer secret',
      'content-type': 'text/plain',
      'x-sdk': '1',
      via: '1.1 cloudproxy',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'https',
    });
    expect(upstream.requests[before]?.servername).toBe('upstream.test');
    expect(res.headers['via']).toBe('1.1 cloudproxy');
    expect(res.headers['set-cookie']).toEqual(['a=1; Secure', 'b=2; Secure']);
  });

  it('does not send SNI for an IP literal and verifies the certificate against its IP SAN', async () => {
    const f = await proxy();
    const before = upstream.requests.length;
    const res = await f.send(`/${f.target}/echo`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(upstream.requests[before]?.servername).toBeUndefined();
  });

  it('reuses pooled upstream connections (keep-alive) and logs every request', async () => {
    const f = await proxy();
    for (let i = 0; i < 5; i++) {
      const res = await f.send(`/${f.target}/echo`);
      await res.body.dump();
    }
    const ports = new Set(upstream.requests.slice(-5).map((r) => r.remotePort));
    expect(ports.size).toBe(1);
    const lines = f.logs.filter((l) => l.fields['event'] === 'proxy.access');
    expect(lines).toHaveLength(5);
    expect(lines[0]?.fields).toMatchObject({
      method: 'GET',
      upstream: f.target,
      status: 200,
      path: '/echo',
      bytesIn: 0,
      client: '127.0.0.1',
    });
    expect(lines[0]?.fields['bytesOut']).toBeGreaterThan(100);
    expect(typeof lines[0]?.fields['durationMs']).toBe('number');
  });

  it('strips hop-by-hop headers both ways and ignores X-Forwarded-For from untrusted clients', async () => {
    const f = await proxy();
    const res = await f.send(`/${f.target}/echo`, {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'proxy-authorization': 'Basic x',
        te: 'trailers',
      },
    });
    const echo = (await res.body.json()) as Echo;
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-host']).toBe(f.base.slice('https://'.length));
    expect(echo.headers['proxy-authorization']).toBeUndefined();
    expect(echo.headers['te']).toBeUndefined();
  });

  it('trusts X-Forwarded-* from a configured proxy', async () => {
    const f = await proxy({ trustedProxies: ['127.0.0.1'] });
    const res = await f.send(`/${f.target}/echo`, {
      headers: { 'x-forwarded-for': '198.51.100.4', 'x-forwarded-proto': 'https' },
    });
    const echo = (await res.body.json()) as Echo;
    expect(echo.headers['x-forwarded-for']).toBe('198.51.100.4, 127.0.0.1');
  });

  it('answers 404 not-found JSON for a path that names no host', async () => {
    const f = await proxy();
    const res = await f.send('/api/v1/sessions');
    expect(res.statusCode).toBe(404);
    expect(await errorCode(res)).toBe('not-found');
  });
});

describe('refusals', () => {
  const cases: {
    name: string;
    path: (f: ProxyFixture) => string;
    options?: Partial<SignalingProxyOptions>;
    status: number;
    code: string;
  }[] = [
    {
      name: 'a host that is not allowlisted',
      path: () => `/api.evil.example:${upstream.port}/x`,
      status: 403,
      code: 'host-not-allowed',
    },
    {
      name: 'the label-boundary trick (evilupstream.test vs *.upstream.test)',
      path: () => `/evilupstream.test:${upstream.port}/x`,
      status: 403,
      code: 'host-not-allowed',
    },
    {
      name: 'a port that is not allowed',
      path: () => '/upstream.test:8443/x',
      status: 403,
      code: 'port-not-allowed',
    },
    {
      name: 'a malformed port',
      path: () => '/upstream.test:99999/x',
      status: 400,
      code: 'bad-path',
    },
    {
      name: 'a numeric host name',
      path: () => `/127.1:${upstream.port}/x`,
      status: 400,
      code: 'bad-path',
    },
    {
      name: 'an allowed IP literal in loopback without allowPrivateUpstream',
      path: (f) => `/${f.target}/echo`,
      options: { allowPrivateUpstream: [] },
      status: 403,
      code: 'private-address',
    },
    {
      name: 'an allowed name (localhost) that resolves to loopback',
      path: () => `/localhost:${upstream.port}/echo`,
      options: { allowHosts: ['localhost'], allowPrivateUpstream: [], lookup: undefined },
      status: 403,
      code: 'private-address',
    },
    {
      name: 'a name like 127.0.0.1.nip.io that resolves to loopback',
      path: () => `/127.0.0.1.nip.io:${upstream.port}/echo`,
      options: {
        allowHosts: ['*.nip.io'],
        allowPrivateUpstream: ['10.0.0.0/8'],
        lookup: testLookup({ '127.0.0.1.nip.io': '127.0.0.1' }),
      },
      status: 403,
      code: 'private-address',
    },
    {
      name: 'a name that resolves to an IPv4-mapped loopback address',
      path: () => `/mapped.example:${upstream.port}/echo`,
      options: {
        allowHosts: ['mapped.example'],
        allowPrivateUpstream: [],
        lookup: testLookup({ 'mapped.example': '::ffff:127.0.0.1' }),
      },
      status: 403,
      code: 'private-address',
    },
    {
      name: 'a name that does not resolve',
      path: () => `/nowhere.upstream-missing.example:${upstream.port}/x`,
      options: { allowHosts: ['*.upstream-missing.example'] },
      status: 502,
      code: 'upstream-unreachable',
    },
    {
      name: 'an upstream that does not answer in time',
      path: (f) => `/${f.target}/slow?ms=2000`,
      options: { limits: { responseTimeoutMs: 200 } },
      status: 504,
      code: 'upstream-timeout',
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} (${c.status} ${c.code}) and logs it`, async () => {
      const f = await proxy({ cors: { origins: ['https://app.example'] }, ...c.options });
      const res = await f.send(c.path(f), { headers: { origin: 'https://app.example' } });
      expect(res.statusCode).toBe(c.status);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(await errorCode(res)).toBe(c.code);
      expect(f.logs.some((l) => l.level === 'warn' && l.fields['code'] === c.code)).toBe(true);
      const metrics = await f.registry.metrics();
      expect(metrics).toContain(`cloudproxy_proxy_refusals_total{code="${c.code}"} 1`);
    });
  }

  it('refuses an upstream whose certificate is not signed by a trusted CA (upstream-tls)', async () => {
    const untrusted = await startHttpsUpstream({ selfSigned: true });
    try {
      const f = await proxy({ allowPorts: [untrusted.port] });
      const res = await f.send(`/127.0.0.1:${untrusted.port}/echo`);
      expect(res.statusCode).toBe(502);
      expect(await errorCode(res)).toBe('upstream-tls');
      expect(await f.registry.metrics()).toContain(
        'cloudproxy_proxy_upstream_errors_total{code="upstream-tls"} 1',
      );
    } finally {
      await untrusted.close();
    }
  });

  it('refuses a name whose address changes to a forbidden one between connections (DNS rebinding)', async () => {
    let calls = 0;
    const f = await proxy({
      allowHosts: ['rebind.upstream.test'],
      allowPrivateUpstream: ['127.0.0.1/32'],
      lookup: () => {
        calls++;
        return Promise.resolve([{ address: calls === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }]);
      },
    });
    // The first connection resolves to an allowed address; the upstream closes it after answering.
    const first = await f.send(`/rebind.upstream.test:${upstream.port}/close`);
    expect(first.statusCode).toBe(200);
    await first.body.dump();
    // The next connection resolves again, now to a forbidden address: refused at connect time.
    const second = await f.send(`/rebind.upstream.test:${upstream.port}/echo`);
    expect(second.statusCode).toBe(403);
    expect(await errorCode(second)).toBe('private-address');
    expect(calls).toBe(2);
  });

  it('refuses a body whose Content-Length is over the limit (413) before reading it', async () => {
    const f = await proxy({ limits: { maxBodyBytes: 1000 } });
    const res = await f.send(`/${f.target}/sink`, { method: 'POST', body: Buffer.alloc(5000) });
    expect(res.statusCode).toBe(413);
    expect(await errorCode(res)).toBe('body-too-large');
  });

  it('refuses a chunked body once it grows over the limit (413)', async () => {
    const f = await proxy({ limits: { maxBodyBytes: 100_000 } });
    function* chunks(): Generator<Buffer> {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(50_000);
    }
    const res = await f
      .send(`/${f.target}/sink`, { method: 'POST', body: Readable.from(chunks()) })
      .catch((error: unknown) => error);
    if (res instanceof Error) {
      // The proxy may close the connection while the client is still sending.
      expect(f.logs.some((l) => l.fields['code'] === 'body-too-large')).toBe(true);
      return;
    }
    const response = res as Awaited<ReturnType<ProxyFixture['send']>>;
    expect(response.statusCode).toBe(413);
    expect(await errorCode(response)).toBe('body-too-large');
  });

  it("answers 431 JSON when the head overflows the server's parser", async () => {
    const f = await proxy();
    const res = await f.send(`/${f.target}/echo`, { headers: { 'x-huge': 'a'.repeat(40_000) } });
    expect(res.statusCode).toBe(431);
    expect(await errorCode(res)).toBe('headers-too-large');
  });

  it('refuses headers over the limit (431)', async () => {
    const f = await proxy({ limits: { maxHeaderBytes: 2048 } });
    const res = await f.send(`/${f.target}/echo`, { headers: { 'x-big': 'a'.repeat(4000) } });
    expect(res.statusCode).toBe(431);
    expect(await errorCode(res)).toBe('headers-too-large');
  });
});

describe('CORS', () => {
  it('answers preflights itself, without reaching the upstream', async () => {
    const f = await proxy({
      cors: { origins: ['https://app.example'], credentials: true, maxAgeS: 60 },
    });
    const before = upstream.requests.length;
    const res = await f.send(`/${f.target}/echo`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-headers': 'authorization',
      'access-control-max-age': '60',
    });
    await res.body.dump();
    expect(upstream.requests.length).toBe(before);
  });

  it("replaces the upstream's CORS headers with the proxy's on proxied responses", async () => {
    const f = await proxy({ cors: { origins: ['https://app.example'] } });
    const res = await f.send(`/${f.target}/echo`, { headers: { origin: 'https://app.example' } });
    await res.body.dump();
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    const other = await f.send(`/${f.target}/echo`, {
      headers: { origin: 'https://other.example' },
    });
    await other.body.dump();
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('redirects', () => {
  const redirect = (to: string, status = 302): string =>
    `/redirect?status=${status}&to=${encodeURIComponent(to)}`;

  it('pass mode rewrites Location into the proxy namespace for an allowed target', async () => {
    const f = await proxy();
    const res = await f.send(
      `/${f.target}${redirect(`https://upstream.test:${upstream.port}/next?a=1`)}`,
    );
    expect(res.statusCode).toBe(302);
    expect(res.headers['location']).toBe(`${f.base}/upstream.test:${upstream.port}/next?a=1`);
    await res.body.dump();
  });

  it('pass mode drops Location when the target is not allowed', async () => {
    const f = await proxy();
    const res = await f.send(`/${f.target}${redirect('https://evil.example/steal')}`);
    expect(res.statusCode).toBe(302);
    expect(res.headers['location']).toBeUndefined();
    await res.body.dump();
  });

  it('follow mode follows allowed hops and drops Authorization and Cookie on a host change', async () => {
    const f = await proxy({ redirects: 'follow' });
    const res = await f.send(
      `/${f.target}${redirect(`https://a.upstream.test:${upstream.port}/echo/final`, 303)}`,
      {
        method: 'POST',
        body: 'x',
        headers: {
          authorization: 'Bearer t',
          cookie: 'sid=1',
          'x-keep': 'yes',
          'content-type': 'text/plain',
        },
      },
    );
    expect(res.statusCode).toBe(200);
    const echo = (await res.body.json()) as Echo;
    expect(echo).toMatchObject({ method: 'GET', url: '/echo/final', bodyBytes: 0 });
    expect(echo.headers['content-length']).toBeUndefined();
    expect(echo.headers['content-type']).toBeUndefined();
    expect(echo.headers['authorization']).toBeUndefined();
    expect(echo.headers['cookie']).toBeUndefined();
    expect(echo.headers['x-keep']).toBe('yes');
    expect(echo.headers['host']).toBe(`a.upstream.test:${upstream.port}`);
  });

  it('follow mode refuses a redirect to a host that is not allowlisted', async () => {
    const f = await proxy({ redirects: 'follow' });
    const res = await f.send(`/${f.target}${redirect('https://evil.example/x')}`);
    expect(res.statusCode).toBe(403);
    expect(await errorCode(res)).toBe('redirect-not-allowed');
  });

  it('follow mode checks the resolved address of every hop', async () => {
    const f = await proxy({
      redirects: 'follow',
      allowPrivateUpstream: ['127.0.0.1/32'],
      lookup: testLookup({ 'b.upstream.test': '127.0.0.9' }),
    });
    const res = await f.send(
      `/${f.target}${redirect(`https://b.upstream.test:${upstream.port}/echo`)}`,
    );
    expect(res.statusCode).toBe(403);
    expect(await errorCode(res)).toBe('private-address');
  });

  it('follow mode gives up after maxRedirects', async () => {
    const f = await proxy({ redirects: 'follow', maxRedirects: 2 });
    const loop = `https://${f.target}/redirect?to=/redirect`;
    const res = await f.send(`/${f.target}${redirect(loop)}`);
    expect(res.statusCode).toBe(508);
    expect(await errorCode(res)).toBe('too-many-redirects');
  });
});

describe('limits', () => {
  it('rate-limits a client (429)', async () => {
    const f = await proxy({ limits: { requestsPerMinutePerClient: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await f.send(`/${f.target}/echo`);
      statuses.push(res.statusCode);
      await res.body.dump();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('caps concurrent requests per client (503)', async () => {
    const f = await proxy({ limits: { maxConcurrentPerClient: 2 } });
    const slow = [f.send(`/${f.target}/slow?ms=500`), f.send(`/${f.target}/slow?ms=500`)];
    await new Promise((resolve) => setTimeout(resolve, 150));
    const third = await f.send(`/${f.target}/echo`);
    expect(third.statusCode).toBe(503);
    expect(await errorCode(third)).toBe('too-many-connections');
    for (const res of await Promise.all(slow)) {
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    const after = await f.send(`/${f.target}/echo`);
    expect(after.statusCode).toBe(200);
    await after.body.dump();
  });
});

describe('client going away', () => {
  it('aborts the upstream request and frees the client slot when the client disconnects', async () => {
    const f = await proxy({ limits: { maxConcurrentPerClient: 1 } });
    const abort = new AbortController();
    const pending = f.send(`/${f.target}/slow?ms=3000`, { signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 200));
    abort.abort();
    await expect(pending).rejects.toThrow();
    const deadline = Date.now() + 2000;
    let status = 0;
    while (Date.now() < deadline) {
      const res = await f.send(`/${f.target}/echo`);
      status = res.statusCode;
      await res.body.dump();
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
  });
});

describe('metrics', () => {
  it('counts requests and observes latency under the cloudproxy_proxy_ prefix', async () => {
    const f = await proxy();
    const res = await f.send(`/${f.target}/echo`);
    await res.body.dump();
    const text = await f.registry.metrics();
    expect(text).toContain(
      'cloudproxy_proxy_requests_total{method="GET",status="200",kind="http"} 1',
    );
    expect(text).toContain('cloudproxy_proxy_request_duration_seconds_count{kind="http"} 1');
    expect(text).toContain('cloudproxy_proxy_websockets_open 0');
  });
});
