/**
 * The web console (`/console`) and the ICE diagnostics page (`/diagnostics`), with their assets
 * under `/console/assets/`. Static files from `packages/control/assets`, served with a strict
 * Content-Security-Policy (scripts, styles and connections from this origin only; no inline
 * script or style) and the usual hardening headers. The control plane's request handler
 * delegates to {@link serveWeb} before its API routes.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ASSET_FILES, ASSET_PREFIX, PAGE_FILES, loadStaticFile } from './static-files.js';

export { ASSET_FILES, ASSET_PREFIX, PAGE_FILES } from './static-files.js';

/** The Content-Security-Policy of every web response. */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': WEB_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** The file a request path names, `null` for a path under the asset prefix naming no file. */
function fileForPath(pathname: string): string | null | undefined {
  const page = PAGE_FILES.get(pathname);
  if (page !== undefined) return page;
  if (!pathname.startsWith(ASSET_PREFIX)) return undefined;
  const name = pathname.slice(ASSET_PREFIX.length);
  return ASSET_FILES.includes(name) ? name : null;
}

function sendText(res: ServerResponse, status: number, text: string, extra = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(text);
}

function sendFile(req: IncomingMessage, res: ServerResponse, name: string): void {
  let file;
  try {
    file = loadStaticFile(name);
  } catch (err) {
    sendText(res, 500, `web file ${name} cannot be read: ${(err as Error).message}\n`);
    return;
  }
  const headers = {
    ...SECURITY_HEADERS,
    'content-type': file.contentType,
    // No fingerprinted names (no build step): revalidate every time; the ETag makes it cheap.
    'cache-control': 'no-cache',
    etag: file.etag,
  };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': file.body.length });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

/**
 * Serves the console, the diagnostics page and their assets. Returns true when the request was
 * answered (including 404 for an unknown file under `/console/assets/` and 405 for a method
 * other than GET/HEAD), false when the path is not a web path and the caller should route it.
 */
export function serveWeb(req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const pathname = query === -1 ? url : url.slice(0, query);
  const name = fileForPath(pathname);
  if (name === undefined) return false;
  if (name === null) {
    sendText(res, 404, `no web file at ${pathname}\n`);
  } else if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, `method ${req.method ?? '?'} not allowed on ${pathname}\n`, {
      allow: 'GET, HEAD',
    });
  } else {
    sendFile(req, res, name);
  }
  return true;
}
