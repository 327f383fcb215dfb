import { describe, expect, it } from 'vitest';
import { createCorsPolicy, isPreflight } from './cors.js';

describe('createCorsPolicy', () => {
  const policy = createCorsPolicy({
    origins: ['https://app.example.com'],
    credentials: true,
    exposeHeaders: ['x-request-id'],
    maxAgeS: 300,
  });

  it('answers a preflight from an allowed origin with methods, requested headers and max-age', () => {
    const answer = policy.preflight({
      origin: 'https://app.example.com',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    });
    expect(answer.status).toBe(204);
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '300',
    });
    expect(answer.headers['vary']).toContain('Origin');
  });

  it('answers a preflight from another origin without allowing it', () => {
    const answer = policy.preflight({
      origin: 'https://evil.example',
      'access-control-request-method': 'GET',
    });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds allow-origin, credentials and expose headers to actual responses', () => {
    expect(policy.responseHeaders('https://app.example.com')).toEqual({
      vary: 'Origin',
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id',
    });
    expect(policy.responseHeaders(undefined)).toEqual({ vary: 'Origin' });
  });

  it('keeps actual-response headers intact after preflights built from them', () => {
    const wildcard = createCorsPolicy({ origins: ['*'], exposeHeaders: ['x-request-id'] });
    wildcard.preflight({ origin: 'https://x.example', 'access-control-request-method': 'GET' });
    policy.preflight({ origin: 'https://evil.example', 'access-control-request-method': 'GET' });
    expect(wildcard.responseHeaders('https://y.example')).toEqual({
      vary: 'Origin',
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'x-request-id',
    });
    expect(policy.responseHeaders('https://evil.example')).toEqual({ vary: 'Origin' });
  });

  it('uses the configured header list instead of echoing the request', () => {
    const fixed = createCorsPolicy({ origins: ['*'], headers: ['content-type'] });
    const answer = fixed.preflight({
      origin: 'https://x.example',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'x-evil',
    });
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    expect(answer.headers['access-control-allow-headers']).toBe('content-type');
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it("refuses '*' together with credentials", () => {
    expect(() => createCorsPolicy({ origins: ['*'], credentials: true })).toThrow(
      /cors: origin '\*' cannot be combined with credentials/,
    );
  });

  it('refuses a malformed origin', () => {
    expect(() => createCorsPolicy({ origins: ['app.example.com'] })).toThrow(/cors.origins\[0\]/);
  });

  it('recognises preflights', () => {
    expect(
      isPreflight('OPTIONS', { origin: 'https://a.b', 'access-control-request-method': 'GET' }),
    ).toBe(true);
    expect(isPreflight('OPTIONS', { origin: 'https://a.b' })).toBe(false);
    expect(
      isPreflight('GET', { origin: 'https://a.b', 'access-control-request-method': 'GET' }),
    ).toBe(false);
  });
});
