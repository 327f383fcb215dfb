/**
 * ApiServer: runs one API request through rate limiting, routing, authentication, scope checks,
 * body and query validation and the handler, and writes the answer; every refusal is
 * `application/problem+json` with a stable code.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ApiProblem } from '../errors.js';
import type { ControlMetrics } from '../metrics.js';
import { scopedAppId } from '../routes/api-context.js';
import { sha256Hex } from '../store/keys-repo.js';
import { storeUnavailableProblem } from '../store/store-errors.js';
import type { Authenticator } from './auth.js';
import { bearerOf } from './auth.js';
import { parseJsonBody, queryObject, readBody, validate } from './body.js';
import type { RateLimiter } from './rate-limit.js';
import type { Principal, Reply, Route, Router } from './route.js';

/** Paths probes use; never rate-limited. */
const PROBES = new Set(['/healthz', '/readyz']);

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  // Bearer tokens only, never cookies: any origin may call (browsers with client tokens).
  'access-control-allow-origin': '*',
};

/** ApiServer serves the routes of a Router. */
export class ApiServer {
  readonly #router: Router;
  readonly #auth: Authenticator;
  readonly #limiter: RateLimiter;
  readonly #maxBodyBytes: number;
  readonly #clock: () => number;
  readonly #logger: Logger | undefined;
  readonly #metrics: ControlMetrics;

  constructor(options: {
    router: Router;
    auth: Authenticator;
    limiter: RateLimiter;
    maxBodyBytes: number;
    clock: () => number;
    logger: Logger | undefined;
    metrics: ControlMetrics;
  }) {
    this.#router = options.router;
    this.#auth = options.auth;
    this.#limiter = options.limiter;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
  }

  /** Whether a path belongs to the API. */
  static owns(pathname: string): boolean {
    return pathname.startsWith('/api/v1/') || PROBES.has(pathname);
  }

  /** Serves one request; never rejects (failures become problem answers). */
  async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let label = 'unmatched';
    let reply: Reply;
    try {
      const matched = this.#router.match(req.method ?? 'GET', url.pathname);
      if (matched !== undefined && matched !== 'method') label = matched.route.path;
      reply = await this.#run(req, url, matched);
    } catch (error) {
      reply = this.#problemReply(error, req, url);
    }
    this.#metrics.httpRequests.inc({ route: label, status: String(reply.status) });
    write(res, reply, req.method === 'HEAD');
  }

  async #run(req: IncomingMessage, url: URL, matched: ReturnType<Router['match']>): Promise<Reply> {
    const nowMs = this.#clock();
    const token = bearerOf(req.headers.authorization);
    if (!PROBES.has(url.pathname)) this.#rateLimit(req, token, nowMs);
    if (req.method === 'OPTIONS') return preflight();
    if (matched === undefined)
      throw new ApiProblem('not-found', `no such resource ${url.pathname}`);
    if (matched === 'method')
      throw new ApiProblem(
        'method-not-allowed',
        `${req.method ?? ''} is not allowed on ${url.pathname}`,
      );
    const { route, params } = matched;
    const principal = await this.#authorize(route, token, params, nowMs);
    const body = route.body
      ? validate(route.body, parseJsonBody(req, await readBody(req, this.#maxBodyBytes)), 'body')
      : undefined;
    const query = route.query
      ? validate(route.query, queryObject(url.searchParams), 'query')
      : undefined;
    return route.handler({ req, params, body, query, principal, nowMs });
  }

  #rateLimit(req: IncomingMessage, token: string | undefined, nowMs: number): void {
    const key =
      token === undefined ? `ip:${req.socket.remoteAddress ?? ''}` : `t:${sha256Hex(token)}`;
    const waitS = this.#limiter.take(key, nowMs);
    if (waitS > 0)
      throw new ApiProblem('rate-limited', `too many requests; retry in ${waitS} s`, {
        headers: { 'retry-after': String(waitS) },
      });
  }

  async #authorize(
    route: Route,
    token: string | undefined,
    params: Readonly<Record<string, string>>,
    nowMs: number,
  ): Promise<Principal> {
    if (route.access === 'public') return { kind: 'anonymous' };
    const principal = await this.#auth.authenticate(token, nowMs);
    if (principal.kind === 'anonymous' || !route.access.includes(principal.kind))
      throw new ApiProblem(
        'forbidden',
        `${route.method} ${route.path} needs ${route.access.join(' or ')} credentials`,
      );
    if (params['appId'] !== undefined) scopedAppId(principal, params['appId']);
    return principal;
  }

  #problemReply(error: unknown, req: IncomingMessage, url: URL): Reply {
    const problem =
      error instanceof ApiProblem
        ? error
        : (storeUnavailableProblem(error) ??
          new ApiProblem('internal', 'internal error', { cause: error }));
    if (problem.code === 'unavailable')
      this.#logger?.warn(
        { event: 'api.store-unavailable', method: req.method, path: url.pathname, err: error },
        problem.message,
      );
    if (problem.code === 'internal')
      this.#logger?.error(
        { event: 'api.error', method: req.method, path: url.pathname, err: error },
        'API request failed',
      );
    return {
      status: problem.status,
      json: problem.toBody(),
      contentType: 'application/problem+json',
      headers: problem.headers,
    };
  }
}

function preflight(): Reply {
  return {
    status: 204,
    headers: {
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
    },
  };
}

/** Writes a reply (JSON unless it carries text). */
function write(res: ServerResponse, reply: Reply, headOnly: boolean): void {
  const headers: Record<string, string> = { ...COMMON_HEADERS, ...reply.headers };
  let payload: string | undefined;
  if (reply.status !== 204) {
    payload = reply.text ?? JSON.stringify(reply.json ?? null);
    headers['content-type'] = reply.contentType ?? 'application/json; charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(reply.status, headers);
  res.end(headOnly ? undefined : payload);
}
