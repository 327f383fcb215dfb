/**
 * What one upstream attempt sends and what the client gets back: method, headers and body
 * streamed (never buffered), response headers filtered, redirects passed (with `Location`
 * rewritten) or followed.
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import type { ClientInfo } from './client-address.js';
import { ProxyRefusal } from './errors.js';
import { clientResponseHeaders, mergeVary, upstreamRequestHeaders } from './forward-headers.js';
import type { UpstreamTarget } from './proxy-path.js';
import { isRedirect, redirectDropsBody, redirectTarget, rewriteLocation } from './redirects.js';
import type { ByteCounter, ProxyRuntime } from './runtime.js';

/** The request side of an exchange, as attempts and response headers need it. */
export interface ExchangeRequest extends ByteCounter {
  readonly req: IncomingMessage;
  readonly target: UpstreamTarget;
  readonly client: ClientInfo;
  /** CORS headers for this request's origin (empty without a CORS policy). */
  readonly corsHeaders: Readonly<Record<string, string>>;
}

/** What one upstream attempt sends. */
export interface Attempt {
  readonly target: UpstreamTarget;
  /** `https://{authority}`: the pool undici dispatches to. */
  readonly origin: string;
  readonly method: string;
  readonly headers: string[];
  readonly body: Readable | undefined;
}

/** Keeps every upstream response header (no CORS policy to replace them). */
const keepAll = (): boolean => false;

/** True when the request carries a body (RFC 9112 §6.3: Content-Length or Transfer-Encoding). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The request body as streamed upstream. A Content-Length body was checked against the limit at
 * admission and Node's parser stops at that length, so the request itself is the body, its bytes
 * counted as they pass: no stream in between. The counting listener would start the flow, so the
 * request is paused again until undici attaches its own listener and resumes it. A chunked body
 * goes through {@link limitBody}.
 */
function requestBody(req: IncomingMessage, maxBytes: number, counter: ByteCounter): Readable {
  if (req.headers['transfer-encoding'] !== undefined) return limitBody(req, maxBytes, counter);
  req.on('data', (chunk: Buffer) => {
    counter.bytesIn += chunk.length;
  });
  req.pause();
  return req;
}

/**
 * A chunked request body: counted, and refused once it grows past `maxBytes`. Piping keeps
 * back-pressure: the client is read no faster than the upstream accepts. A Transform adds one
 * hop only, so the body's end reaches undici right after its last byte; a longer chain of
 * asynchronous hops lets a fast upstream answer first, and undici then drops the connection.
 */
function limitBody(req: IncomingMessage, maxBytes: number, counter: ByteCounter): Readable {
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      counter.bytesIn += chunk.length;
      if (counter.bytesIn > maxBytes) {
        callback(new ProxyRefusal('body-too-large', `request body exceeds ${maxBytes} bytes`));
        return;
      }
      callback(null, chunk);
    },
  });
  req.once('error', (error) => limiter.destroy(error));
  req.once('aborted', () => limiter.destroy(new Error('client aborted the request body')));
  return req.pipe(limiter);
}

/** The first attempt: the client's request towards its upstream. */
export function firstAttempt(rt: ProxyRuntime, ex: ExchangeRequest): Attempt {
  const { options } = rt;
  const { req, target } = ex;
  return {
    target,
    origin: `https://${target.authority}`,
    method: req.method ?? 'GET',
    headers: upstreamRequestHeaders(req.rawHeaders, req.headers, {
      authority: target.authority,
      client: ex.client,
      via: options.via,
    }),
    body: hasRequestBody(req) ? requestBody(req, options.limits.maxBodyBytes, ex) : undefined,
  };
}

/**
 * The attempt for a followed redirect's target, or throws `redirect-not-allowed`. 301/302 after
 * a POST and 303 become a GET without body; credentials stay with the first host only.
 */
export function nextAttempt(
  rt: ProxyRuntime,
  ex: ExchangeRequest,
  previous: Attempt,
  status: number,
  location: string,
): Attempt {
  const target = redirectTarget(location, previous.target, rt.options);
  if (target === undefined) {
    throw new ProxyRefusal(
      'redirect-not-allowed',
      `upstream ${previous.target.authority} redirected to a target that is not allowed`,
    );
  }
  const dropsBody = redirectDropsBody(status, previous.method);
  const body = dropsBody ? undefined : previous.body;
  return {
    target,
    origin: `https://${target.authority}`,
    method: dropsBody ? 'GET' : previous.method,
    body,
    headers: upstreamRequestHeaders(ex.req.rawHeaders, ex.req.headers, {
      authority: target.authority,
      client: ex.client,
      via: rt.options.via,
      dropCredentials: target.host.hostname !== ex.target.host.hostname,
      dropBody: body === undefined,
    }),
  };
}

/** The client's response headers: filtered, `Location` rewritten (pass mode), CORS added. */
export function responseHeaders(
  rt: ProxyRuntime,
  ex: ExchangeRequest,
  target: UpstreamTarget,
  status: number,
  upstream: IncomingHttpHeaders,
): Record<string, string | string[]> {
  const { options } = rt;
  const headers = clientResponseHeaders(upstream, options.via, options.cors?.ownsHeader ?? keepAll);
  const location = upstream.location;
  if (typeof location === 'string' && isRedirect(status)) {
    const base =
      ex.client.forwardedHost === undefined
        ? ''
        : `${ex.client.forwardedProto}://${ex.client.forwardedHost}`;
    const rewritten = rewriteLocation(location, target, options, base);
    if (rewritten === undefined) delete headers['location'];
    else headers['location'] = rewritten;
  }
  if (options.cors === undefined) return headers;
  for (const name in ex.corsHeaders) {
    const value = ex.corsHeaders[name] ?? '';
    headers[name] = name === 'vary' ? mergeVary(headers['vary'], value) : value;
  }
  return headers;
}
