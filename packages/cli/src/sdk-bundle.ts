/**
 * Serves the client SDK's browser file (`@cloudproxy/client/browser`, built by
 * `npm run build`) at `/sdk/cloudproxy-client.js`, so a page can load the SDK from its own node.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** One file read at first request and kept; a missing build answers 503 with the reason. */
function fileHandler(file: string, contentType: string): Handler {
  let cached: { body: Buffer; etag: string } | undefined;
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    try {
      if (!cached) {
        const body = readFileSync(file);
        cached = { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
      }
    } catch {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('the client SDK is not built: run npm run build\n');
      return;
    }
    const headers = {
      'content-type': contentType,
      etag: cached.etag,
      'cache-control': 'no-cache',
      'access-control-allow-origin': '*',
      'x-content-type-options': 'nosniff',
    };
    if (req.headers['if-none-match'] === cached.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': cached.body.length });
    res.end(req.method === 'HEAD' ? undefined : cached.body);
  };
}

/** Routes of the SDK bundle and its source map. */
export function sdkRoutes(): Map<string, Handler> {
  const file = fileURLToPath(import.meta.resolve('@cloudproxy/client/browser'));
  return new Map([
    ['/sdk/cloudproxy-client.js', fileHandler(file, 'text/javascript; charset=utf-8')],
    ['/sdk/cloudproxy-client.js.map', fileHandler(`${file}.map`, 'application/json')],
  ]);
}
