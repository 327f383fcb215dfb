/**
 * HTTP/2 requests for handlers written for `node:http`: node's compatibility API
 * (`Http2ServerRequest`/`Http2ServerResponse`) gives the same methods and events, but lists the
 * pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) among the headers and has no
 * `Host`. The signaling proxy copies a request's headers upstream, where a pseudo-header is
 * invalid, and reads `Host` for X-Forwarded-Host; so the request handed on shows HTTP/1.1
 * headers: pseudo-headers removed, `host` from `:authority`.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

const AUTHORITY = ':authority';

/**
 * Gives an HTTP/2 compatibility request the header view of an HTTP/1.1 one. Own data properties
 * shadow `headers` and `rawHeaders` on this request object only; `method`, `url` and the body
 * stream are untouched (they read node's internal copy).
 */
export function asHttp1Exchange(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
): { req: IncomingMessage; res: ServerResponse } {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith(':')) headers[name] = value;
  }
  const rawHeaders: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    if (!name.startsWith(':')) rawHeaders.push(name, req.rawHeaders[i + 1] ?? '');
  }
  const authority = req.headers[AUTHORITY];
  if (headers['host'] === undefined && typeof authority === 'string') {
    headers['host'] = authority;
    rawHeaders.unshift('host', authority);
  }
  Object.defineProperty(req, 'headers', { value: headers });
  Object.defineProperty(req, 'rawHeaders', { value: rawHeaders });
  // The compatibility objects implement the parts of the node:http API the routes use.
  return {
    req: req as unknown as IncomingMessage,
    res: res as unknown as ServerResponse,
  };
}
