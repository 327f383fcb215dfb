/**
 * Forwarding one HTTP request upstream: method, headers and body streamed (never buffered), the
 * response streamed back, redirects passed (with `Location` rewritten) or followed.
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import type { ClientInfo } from './client-address.js';
import { ProxyRefusal } from './errors.js';
import { clientResponseHeaders, mergeVary, upstreamRequestHeaders } from './forward-headers.js';
import type { UpstreamTarget } from './proxy-path.js';
import { isRedirect, redirectDropsBody, redirectTarget, rewriteLocation } from './redirects.js';
import { relayResponse } from './response-relay.js';
import type { ByteCounter, ProxyRuntime } from './runtime.js';

/** One client request on its way upstream. */
export interface HttpExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly target: UpstreamTarget;
  readonly client: ClientInfo;
  /** CORS headers for this request's origin (empty without a CORS policy). */
  readonly corsHeaders: Readonly<Record<string, string>>;
  readonly counter: ByteCounter;
}

/** What one upstream attempt sends. */
interface Attempt {
  readonly target: UpstreamTarget;
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
 * The request body as streamed upstream: counted, and refused once it grows past `maxBytes`
 * (chunked bodies; a Content-Length over the limit is refused before). Piping keeps
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

/**
 * Forwards the exchange and streams the answer back. Rejects with the failure (a refusal or an
 * upstream error); when part of the answer was already sent, the caller destroys the response.
 */
export async function forwardHttp(rt: ProxyRuntime, ex: HttpExchange): Promise<number> {
  const { options } = rt;
  let attempt: Attempt = {
    target: ex.target,
    method: ex.req.method ?? 'GET',
    headers: upstreamRequestHeaders(ex.req.rawHeaders, ex.req.headers, {
      authority: ex.target.authority,
      client: ex.client,
      via: options.via,
    }),
    body: hasRequestBody(ex.req)
      ? limitBody(ex.req, options.limits.maxBodyBytes, ex.counter)
      : undefined,
  };
  for (let hops = 0; ; hops++) {
    const current = attempt;
    const outcome = await relayResponse(
      rt.agent,
      {
        origin: `https://${current.target.authority}`,
        path: current.target.path,
        method: current.method,
        headers: current.headers,
        body: current.body ?? null,
      },
      ex.res,
      ex.counter,
      (status, headers) =>
        options.redirects === 'follow' && shouldFollow(status, headers, current)
          ? { action: 'drain' }
          : {
              action: 'forward',
              headers: responseHeaders(rt, ex, current.target, status, headers),
            },
    );
    if (outcome.forwarded) return outcome.status;
    if (hops >= options.maxRedirects) {
      throw new ProxyRefusal('too-many-redirects', `more than ${options.maxRedirects} redirects`);
    }
    attempt = nextHop(rt, ex, current, outcome.status, String(outcome.headers.location));
  }
}

/** A redirect is followed unless it would need to replay a body already streamed (307/308). */
function shouldFollow(status: number, headers: IncomingHttpHeaders, attempt: Attempt): boolean {
  if (!isRedirect(status) || typeof headers.location !== 'string') return false;
  return attempt.body === undefined || redirectDropsBody(status, attempt.method);
}

/** The attempt for the redirect's target, or throws `redirect-not-allowed`. */
function nextHop(
  rt: ProxyRuntime,
  ex: HttpExchange,
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
function responseHeaders(
  rt: ProxyRuntime,
  ex: HttpExchange,
  target: UpstreamTarget,
  status: number,
  upstream: IncomingHttpHeaders,
): Record<string, string | string[]> {
  const { options } = rt;
  const headers = clientResponseHeaders(upstream, options.via, options.cors?.ownsHeader ?? keepAll);
  const location = upstream.location;
  if (isRedirect(status) && typeof location === 'string') {
    const base =
      ex.client.forwardedHost === undefined
        ? ''
        : `${ex.client.forwardedProto}://${ex.client.forwardedHost}`;
    const rewritten = rewriteLocation(location, target, options, base);
    if (rewritten === undefined) delete headers['location'];
    else headers['location'] = rewritten;
  }
  for (const [name, value] of Object.entries(ex.corsHeaders)) {
    headers[name] = name === 'vary' ? mergeVary(headers['vary'], value) : value;
  }
  return headers;
}
