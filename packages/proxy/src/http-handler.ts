/**
 * The middleware's request path: route, answer preflights, admit, forward, log.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { admitRequest } from './admission.js';
import { elapsedMs, logRefusal } from './access-log.js';
import { NO_CORS_HEADERS, isPreflight } from './cors.js';
import { startExchange } from './http-exchange.js';
import { hasRequestBody } from './http-forward.js';
import { writeRefusal } from './refusal.js';
import type { ProxyRuntime } from './runtime.js';

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
    const parsed = rt.parsePath(req.url ?? '/');
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
    startExchange(rt, {
      req,
      res,
      target: admission.target,
      client: admission.client,
      corsHeaders,
      startMs,
    });
  };
}
