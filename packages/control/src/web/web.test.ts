import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSET_FILES, ASSET_PREFIX, PAGE_FILES, WEB_CSP, serveWeb } from './index.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let port = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (!serveWeb(req, res)) {
      res.writeHead(418, { 'content-type': 'text/plain' });
      res.end('not a web path');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A request with the path sent exactly as given (no client-side normalisation). */
function request(path: string, method = 'GET', headers: http.OutgoingHttpHeaders = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const assetsDir = new URL('../../assets/', import.meta.url);

function readAsset(name: string): string {
  return readFileSync(new URL(name, assetsDir), 'utf8');
}

function expectSecurityHeaders(answer: Answer): void {
  expect(answer.headers['content-security-policy']).toBe(WEB_CSP);
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  expect(answer.headers['referrer-policy']).toBe('no-referrer');
  expect(answer.headers['x-frame-options']).toBe('DENY');
}

describe('serveWeb pages', () => {
  it.each([
    ['/console', 'cloudproxy console'],
    ['/console/', 'cloudproxy console'],
    ['/console?x=1', 'cloudproxy console'],
    ['/diagnostics', 'cloudproxy ICE diagnostics'],
    ['/diagnostics?from=console', 'cloudproxy ICE diagnostics'],
  ])('serves %s as HTML with the security headers', async (path, title) => {
    const answer = await request(path);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['cache-control']).toBe('no-cache');
    expect(answer.body).toContain(`<title>${title}</title>`);
    expectSecurityHeaders(answer);
  });

  it('uses a strict CSP: self only, no inline script or style, no framing', () => {
    expect(WEB_CSP).toContain("default-src 'self'");
    expect(WEB_CSP).toContain("script-src 'self'");
    expect(WEB_CSP).toContain("style-src 'self'");
    expect(WEB_CSP).toContain("connect-src 'self'");
    expect(WEB_CSP).toContain("img-src 'self' data:");
    expect(WEB_CSP).toContain("frame-ancestors 'none'");
    expect(WEB_CSP).not.toContain('unsafe');
  });
});

describe('serveWeb assets', () => {
  it.each(ASSET_FILES.map((name) => [name]))('serves %s with its media type', async (name) => {
    const answer = await request(`${ASSET_PREFIX}${name}`);
    expect(answer.status).toBe(200);
    const type = { js: 'text/javascript', css: 'text/css', svg: 'image/svg+xml' }[
      name.slice(name.lastIndexOf('.') + 1) as 'js' | 'css' | 'svg'
    ];
    expect(answer.headers['content-type']).toContain(type);
    expect(answer.body).toBe(readAsset(name));
    expectSecurityHeaders(answer);
  });

  it('answers a matching If-None-Match with 304 and HEAD without a body', async () => {
    const first = await request(`${ASSET_PREFIX}style.css`);
    const etag = first.headers.etag;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await request(`${ASSET_PREFIX}style.css`, 'GET', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const head = await request('/console', 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(1000);
    expect(head.body).toBe('');
  });

  it('refuses other methods with 405 and Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const answer = await request('/console', method);
      expect(answer.status, method).toBe(405);
      expect(answer.headers.allow).toBe('GET, HEAD');
    }
  });

  it('references only files it serves (pages, module imports, stylesheet, icon)', () => {
    const served = new Set(ASSET_FILES);
    const referenced = new Set<string>();
    for (const page of new Set(PAGE_FILES.values())) {
      for (const match of readAsset(page).matchAll(/(?:src|href)="\/console\/assets\/([^"]+)"/g)) {
        referenced.add(match[1]!);
      }
    }
    for (const name of ASSET_FILES.filter((file) => file.endsWith('.js'))) {
      for (const match of readAsset(name).matchAll(/from '\.\/([^']+)'/g))
        referenced.add(match[1]!);
    }
    for (const name of referenced) expect(served.has(name), name).toBe(true);
    expect(referenced.size).toBeGreaterThanOrEqual(ASSET_FILES.length - 1);
  });

  it('has no inline script, inline style or HTML injection sinks', () => {
    for (const page of new Set(PAGE_FILES.values())) {
      const html = readAsset(page);
      expect(html, page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html, page).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
    }
    for (const name of ASSET_FILES.filter((file) => file.endsWith('.js'))) {
      expect(readAsset(name), name).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
      );
    }
  });
});

describe('serveWeb refuses everything else', () => {
  it.each([
    '/console/assets/../package.json',
    '/console/assets/..%2fpackage.json',
    '/console/assets/%2e%2e/%2e%2e/package.json',
    '/console/assets/',
    '/console/assets/style.css/',
    '/console/assets//etc/passwd',
    '/console/assets/STYLE.CSS',
    '/console/assets/console.html',
    '/console/assets/style.css%00.js',
  ])('answers 404 for %s', async (path) => {
    const answer = await request(path);
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.body).not.toContain('"name"');
    expectSecurityHeaders(answer);
  });

  it.each([
    '/',
    '/api/v1/apps',
    '/consoles',
    '/console/../package.json',
    '//console',
    '/assets/style.css',
  ])('leaves %s to the caller', async (path) => {
    const answer = await request(path);
    expect(answer.status).toBe(418);
  });
});
