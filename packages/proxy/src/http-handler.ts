/**
 * The middleware's request path: route, answer preflights, admit, forward, log.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { admitRequest } from './admission.js';
import { elapsedMs, logAccess, logRefusal } from './access-log.js';
import { NO_CORS_HEADERS, isPreflight } from './cors.js';
import { forwardHttp, hasRequestBody } from './http-forward.js';
import { parseProxyPath } from './proxy-path.js';
import { writeRefusal } from './refusal.js';
import type { ByteCounter, ProxyRuntime } from './runtime.js';
import { classifyUpstreamError, isUpstreamFailure } from './upstream-errors.js';

/** A connect/Express-style request handler. */
export type RequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => void;

/** Creates the request handler of a proxy. */
export function createHttpHandler(rt: ProxyRuntime): RequestHandler {
  const { options, metrics } = rt;
  const { cors } = options;
  return (req, res, next) => {
    const startMs = performance.now();
    const method = req.method ?? 'GET';
    const parsed = parseProxyPath(req.url ?? '/', options.hosts.isExactName);
    if (!parsed.ok && parsed.code === 'not-found' && next !== undefined) {
      next();
      return;
    }
    if (parsed.ok && cors !== undefined && isPreflight(method, req.headers)) {
      const answer = cors.preflight(req.headers);
      res.writeHead(answer.status, answer.headers).end();
      metrics.request(method, answer.status, elapsedMs(startMs) / 1000, 'http');
      return;
    }
    const corsHeaders = cors?.responseHeaders(req.headers.origin) ?? NO_CORS_HEADERS;
    const admission = admitRequest(rt, req, parsed);
    if (!admission.ok) {
      logRefusal(rt, req, admission, startMs);
      const status = writeRefusal(
        res,
        admission.code,
        admission.message,
        corsHeaders,
        hasRequestBody(req),
      );
      metrics.request(method, status, elapsedMs(startMs) / 1000, 'http');
      return;
    }
    const { target, client } = admission;
    const counter: ByteCounter = { bytesIn: 0, bytesOut: 0 };
    const finish = (status: number): void => {
      rt.limiter.release(client.address);
      metrics.request(method, status, elapsedMs(startMs) / 1000, 'http');
      logAccess(
        rt,
        {
          method,
          upstream: target.authority,
          path: target.path,
          status,
          ...counter,
          client: client.address,
        },
        startMs,
      );
    };
    const fail = (error: unknown): void => {
      const refusal = classifyUpstreamError(error, target.authority);
      if (isUpstreamFailure(refusal.refusal)) metrics.upstreamError(refusal.refusal);
      if (res.headersSent || res.destroyed) {
        res.destroy();
        finish(res.statusCode);
        return;
      }
      logRefusal(
        rt,
        req,
        { ok: false, code: refusal.refusal, message: refusal.message, target, client },
        startMs,
      );
      finish(writeRefusal(res, refusal.refusal, refusal.message, corsHeaders, hasRequestBody(req)));
    };
    forwardHttp(rt, { req, res, target, client, corsHeaders, counter }).then(finish, fail);
  };
}
