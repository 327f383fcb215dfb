/**
 * HttpExchange: one proxied HTTP request from admission to the access log line. The exchange is
 * itself the undici dispatch handler of each upstream attempt (the first one, then one per
 * followed redirect), and writes the upstream's answer straight to the client's
 * `ServerResponse`: no promise, stream or closure per request on the hot path.
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { elapsedMs, logAccess, logRefusal } from './access-log.js';
import type { ClientInfo } from './client-address.js';
import { ProxyRefusal } from './errors.js';
import { firstAttempt, hasRequestBody, nextAttempt, responseHeaders } from './http-forward.js';
import type { Attempt } from './http-forward.js';
import type { UpstreamTarget } from './proxy-path.js';
import { isRedirect, redirectDropsBody } from './redirects.js';
import { writeRefusal } from './refusal.js';
import type { ByteCounter, ProxyRuntime } from './runtime.js';
import { classifyUpstreamError, isUpstreamFailure } from './upstream-errors.js';

/** What {@link startExchange} needs: an admitted request, its upstream and its client. */
export interface ExchangeStart {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly target: UpstreamTarget;
  readonly client: ClientInfo;
  /** CORS headers for this request's origin (empty without a CORS policy). */
  readonly corsHeaders: Readonly<Record<string, string>>;
  /** `performance.now()` when the request arrived. */
  readonly startMs: number;
}

/**
 * Forwards an admitted request and streams the answer back; logs, counts and releases the
 * client's concurrency slot when it ends, whichever way.
 */
export function startExchange(rt: ProxyRuntime, start: ExchangeStart): void {
  new HttpExchange(rt, start).dispatch();
}

/**
 * The exchange. Lifetime: one client request; `#settle` runs exactly once. Each attempt's head
 * is either forwarded to the client or, for a redirect followed in `follow` mode, drained; the
 * client going away aborts the upstream attempt in flight.
 */
export class HttpExchange implements Dispatcher.DispatchHandler, ByteCounter {
  bytesIn = 0;
  bytesOut = 0;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly target: UpstreamTarget;
  readonly client: ClientInfo;
  readonly corsHeaders: Readonly<Record<string, string>>;
  readonly #rt: ProxyRuntime;
  readonly #startMs: number;
  #attempt: Attempt;
  #hops = 0;
  /** Status of the current attempt's head; 0 before it arrives. */
  #status = 0;
  /** True when the current attempt's head went to the client (false: drained). */
  #forwarded = false;
  /** The current attempt's `Location` when it is a redirect to follow. */
  #location = '';
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;

  constructor(rt: ProxyRuntime, start: ExchangeStart) {
    this.#rt = rt;
    this.req = start.req;
    this.res = start.res;
    this.target = start.target;
    this.client = start.client;
    this.corsHeaders = start.corsHeaders;
    this.#startMs = start.startMs;
    this.#attempt = firstAttempt(rt, this);
    this.res.on('close', this.#onClientClose);
  }

  /** Sends the current attempt upstream. */
  dispatch(): void {
    const attempt = this.#attempt;
    this.#status = 0;
    this.#forwarded = false;
    this.#rt.agent.dispatch(
      {
        origin: attempt.origin,
        path: attempt.target.path,
        method: attempt.method,
        headers: attempt.headers,
        body: attempt.body ?? null,
      },
      this,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.res.destroyed) controller.abort(new Error('client went away'));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.#status = statusCode;
    const { location } = headers;
    if (typeof location === 'string' && this.#shouldFollow(statusCode)) {
      this.#location = location;
      return;
    }
    this.#forwarded = true;
    this.res.writeHead(
      statusCode,
      responseHeaders(this.#rt, this, this.#attempt.target, statusCode, headers),
    );
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#forwarded) return;
    this.bytesOut += chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    if (this.#status === 0) {
      this.#fail(new Error('upstream response ended without a head'));
      return;
    }
    if (this.#forwarded) {
      this.res.end();
      this.#settle(this.#status);
      return;
    }
    // A followed redirect: the next hop starts once undici has finished with this one.
    queueMicrotask(this.#followRedirect);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#fail(error);
  }

  /**
   * In follow mode, a redirect (with a `Location`) is followed unless it would need to replay a
   * body already streamed (307/308).
   */
  #shouldFollow(status: number): boolean {
    if (this.#rt.options.redirects !== 'follow' || !isRedirect(status)) return false;
    const attempt = this.#attempt;
    return attempt.body === undefined || redirectDropsBody(status, attempt.method);
  }

  readonly #followRedirect = (): void => {
    const { maxRedirects } = this.#rt.options;
    if (this.#hops >= maxRedirects) {
      this.#fail(new ProxyRefusal('too-many-redirects', `more than ${maxRedirects} redirects`));
      return;
    }
    this.#hops++;
    try {
      this.#attempt = nextAttempt(this.#rt, this, this.#attempt, this.#status, this.#location);
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.dispatch();
  };

  /** Answers a failure: a refusal when nothing was sent yet, otherwise the response is cut. */
  #fail(error: unknown): void {
    if (this.#settled) return;
    const { res, target } = this;
    const refusal = classifyUpstreamError(error, target.authority);
    if (isUpstreamFailure(refusal.refusal)) this.#rt.metrics.upstreamError(refusal.refusal);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      this.#settle(res.statusCode);
      return;
    }
    logRefusal(
      this.#rt,
      this.req,
      { ok: false, code: refusal.refusal, message: refusal.message, target, client: this.client },
      this.#startMs,
    );
    const closeConnection = hasRequestBody(this.req);
    this.#settle(
      writeRefusal(res, refusal.refusal, refusal.message, this.corsHeaders, closeConnection),
    );
  }

  #settle(status: number): void {
    if (this.#settled) return;
    this.#settled = true;
    const rt = this.#rt;
    const method = this.req.method ?? 'GET';
    this.#controller = undefined;
    rt.limiter.release(this.client.address);
    rt.metrics.request(method, status, elapsedMs(this.#startMs) / 1000, 'http');
    logAccess(
      rt,
      {
        method,
        upstream: this.target.authority,
        path: this.target.path,
        status,
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        client: this.client.address,
      },
      this.#startMs,
    );
  }

  readonly #onDrain = (): void => {
    this.#controller?.resume();
  };

  readonly #onClientClose = (): void => {
    if (this.res.writableFinished) return;
    const controller = this.#controller;
    if (controller !== undefined && !controller.aborted) {
      controller.abort(new Error('client went away'));
    }
  };
}
