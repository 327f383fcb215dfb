import { describe, expect, it, vi } from 'vitest';
import { CloudProxyError } from './errors.js';
import { createCredentialProvider, parseExpiry, type CredentialsEndpoint } from './credentials.js';

const endpoint: CredentialsEndpoint = {
  endpoint: 'https://cp.example.com/api/v1/apps/0123/credentials',
  token: 'client-token',
  channel: 'room-1',
  uid: 'alice',
  ttlS: 600,
};
const answer = {
  iceServers: [
    { urls: ['turn:relay.example.com:3478?transport=udp'], username: 'x:y', credential: 'c' },
  ],
  iceTransportPolicy: 'relay',
  mode: 'force-udp',
  ttl: 600,
  expiresAt: '2030-01-01T00:10:00.000Z',
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

async function rejection(promise: Promise<unknown>): Promise<CloudProxyError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CloudProxyError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('credential endpoint', () => {
  it('POSTs channel, uid, mode and ttl with the bearer token and validates the answer', async () => {
    const fetchImpl = vi.fn<typeof fetch>(() => Promise.resolve(json(answer)));
    const provider = createCredentialProvider(
      endpoint,
      () => fetchImpl,
      () => 1000,
    );
    const creds = await provider('force-udp');
    expect(fetchImpl).toHaveBeenCalledOnce();
    const [url, init] = fetchImpl.mock.calls[0]!;
    expect(url).toBe(endpoint.endpoint);
    expect(init?.method).toBe('POST');
    expect(init?.headers).toMatchObject({ authorization: 'Bearer client-token' });
    expect(JSON.parse(init?.body as string)).toEqual({
      channel: 'room-1',
      uid: 'alice',
      mode: 'force-udp',
      ttl: 600,
    });
    expect(creds.expiresAtMs).toBe(Date.parse(answer.expiresAt));
    expect(creds.obtainedAtMs).toBe(1000);
    expect(creds.servers[0]?.urls[0]?.transport).toBe('udp');
  });

  it('calls a token function for each request', async () => {
    let n = 0;
    const fetchImpl = vi.fn<typeof fetch>((_url, init) => {
      expect(init?.headers).toMatchObject({ authorization: `Bearer t${n}` });
      return Promise.resolve(json(answer));
    });
    const provider = createCredentialProvider(
      { ...endpoint, token: () => Promise.resolve(`t${++n}`) },
      () => fetchImpl,
      () => 0,
    );
    n = -1;
    await provider('auto');
    await provider('auto');
    expect(fetchImpl).toHaveBeenCalledTimes(2);
  });

  it('uses ttl when expiresAt is absent', async () => {
    const noExpiry: Partial<typeof answer> = { ...answer };
    delete noExpiry.expiresAt;
    const provider = createCredentialProvider(
      endpoint,
      () => () => Promise.resolve(json(noExpiry)),
      () => 5000,
    );
    expect((await provider('auto')).expiresAtMs).toBe(5000 + 600_000);
  });

  it('reports a problem+json refusal with its status, code and detail', async () => {
    const refusal = {
      type: 'x',
      title: 'Forbidden',
      status: 403,
      code: 'mode-not-enabled',
      detail: 'force-tcp is off',
    };
    const provider = createCredentialProvider(
      endpoint,
      () => () => Promise.resolve(json(refusal, 403)),
      () => 0,
    );
    const err = await rejection(provider('force-tcp'));
    expect(err.code).toBe('CREDENTIALS_FAILED');
    expect(err.message).toBe('credential endpoint refused: 403 mode-not-enabled: force-tcp is off');
  });

  it('reports a non-JSON refusal', async () => {
    const provider = createCredentialProvider(
      endpoint,
      () => () =>
        Promise.resolve(new Response('bad gateway', { status: 502, statusText: 'Bad Gateway' })),
      () => 0,
    );
    expect((await rejection(provider('auto'))).message).toMatch(
      /refused: 502 Bad Gateway \(body not JSON/,
    );
  });

  it('reports a network failure with its cause', async () => {
    const cause = new TypeError('fetch failed');
    const provider = createCredentialProvider(
      endpoint,
      () => () => Promise.reject(cause),
      () => 0,
    );
    const err = await rejection(provider('auto'));
    expect(err.message).toMatch(/unreachable: TypeError: fetch failed/);
    expect(err.cause).toBe(cause);
  });

  it('refuses an answer with unusable ICE servers', async () => {
    const bad = { ...answer, iceServers: [{ urls: 'turn:relay.example.com' }] };
    const provider = createCredentialProvider(
      endpoint,
      () => () => Promise.resolve(json(bad)),
      () => 0,
    );
    const err = await rejection(provider('auto'));
    expect(err.code).toBe('CREDENTIALS_FAILED');
    expect(err.message).toMatch(
      /unusable ICE servers: credential endpoint.iceServers\[0\].username: required/,
    );
    expect((err.cause as CloudProxyError).code).toBe('MISSING_CREDENTIAL');
  });

  it('refuses invalid JSON and a non-object answer', async () => {
    const notJson = createCredentialProvider(
      endpoint,
      () => () => Promise.resolve(new Response('{')),
      () => 0,
    );
    expect((await rejection(notJson('auto'))).message).toMatch(/invalid JSON/);
    const notObject = createCredentialProvider(
      endpoint,
      () => () => Promise.resolve(json([1])),
      () => 0,
    );
    expect((await rejection(notObject('auto'))).message).toMatch(
      /returned an array, not an object/,
    );
  });
});

describe('credentials callback', () => {
  it('is called with the mode; expiresAt may be a Date, a string or epoch ms', async () => {
    const seen: string[] = [];
    for (const expiresAt of [new Date(90_000), '1970-01-01T00:01:30.000Z', 90_000]) {
      const provider = createCredentialProvider(
        (mode) => {
          seen.push(mode);
          return { iceServers: answer.iceServers, expiresAt };
        },
        () => fetch,
        () => 0,
      );
      expect((await provider('force-tcp')).expiresAtMs).toBe(90_000);
    }
    expect(seen).toEqual(['force-tcp', 'force-tcp', 'force-tcp']);
  });

  it('wraps a throwing callback in CREDENTIALS_FAILED', async () => {
    const provider = createCredentialProvider(
      () => Promise.reject(new Error('no token')),
      () => fetch,
      () => 0,
    );
    const err = await rejection(provider('auto'));
    expect(err.code).toBe('CREDENTIALS_FAILED');
    expect(err.message).toMatch(/callback failed for mode auto: Error: no token/);
  });

  it('refuses an unparsable expiry', () => {
    expect(() => parseExpiry('tomorrow', 'expiresAt')).toThrow(/'tomorrow' is not a time/);
    expect(parseExpiry(undefined, 'x')).toBeUndefined();
  });
});
