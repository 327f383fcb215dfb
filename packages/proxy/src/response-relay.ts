/**
 * ResponseRelay: an undici dispatch handler that writes the upstream's answer straight to the
 * client's `ServerResponse`: status and rewritten headers first, then each body chunk, pausing
 * the upstream while the client's buffer is full. No intermediate stream per response.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ByteCounter } from './runtime.js';

/** What the relay does with a response head: write it (with these headers), or drain it. */
export type HeadDecision =
  | { readonly action: 'forward'; readonly headers: Record<string, string | string[]> }
  | { readonly action: 'drain' };

/** How one upstream attempt ended. */
export interface RelayOutcome {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** True when the body went to the client; false when it was drained (a followed redirect). */
  readonly forwarded: boolean;
}

/** Dispatches one upstream request and relays its answer; see {@link ResponseRelay}. */
export function relayResponse(
  dispatcher: Dispatcher,
  request: Dispatcher.DispatchOptions,
  res: ServerResponse,
  counter: ByteCounter,
  decide: (status: number, headers: IncomingHttpHeaders) => HeadDecision,
): Promise<RelayOutcome> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(request, new ResponseRelay(res, counter, decide, resolve, reject));
  });
}

/**
 * The handler behind {@link relayResponse}. Lifetime: one request; settles its promise exactly
 * once (`onResponseEnd` or `onResponseError`). The client going away aborts the upstream request.
 */
class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #counter: ByteCounter;
  readonly #decide: (status: number, headers: IncomingHttpHeaders) => HeadDecision;
  readonly #resolve: (outcome: RelayOutcome) => void;
  readonly #reject: (error: Error) => void;
  #outcome: RelayOutcome | undefined;
  #controller: Dispatcher.DispatchController | undefined;

  constructor(
    res: ServerResponse,
    counter: ByteCounter,
    decide: (status: number, headers: IncomingHttpHeaders) => HeadDecision,
    resolve: (outcome: RelayOutcome) => void,
    reject: (error: Error) => void,
  ) {
    this.#res = res;
    this.#counter = counter;
    this.#decide = decide;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) {
      controller.abort(new Error('client went away'));
      return;
    }
    this.#res.once('close', this.#onClientClose);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    const decision = this.#decide(statusCode, headers);
    const forwarded = decision.action === 'forward';
    this.#outcome = { status: statusCode, headers, forwarded };
    if (decision.action === 'forward') this.#res.writeHead(statusCode, decision.headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#outcome?.forwarded !== true) return;
    this.#counter.bytesOut += chunk.length;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    this.#res.off('close', this.#onClientClose);
    const outcome = this.#outcome;
    if (outcome === undefined) {
      this.#reject(new Error('upstream response ended without a head'));
      return;
    }
    if (outcome.forwarded) this.#res.end();
    this.#resolve(outcome);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#res.off('close', this.#onClientClose);
    this.#reject(error);
  }

  readonly #onDrain = (): void => {
    this.#controller?.resume();
  };

  readonly #onClientClose = (): void => {
    if (!this.#res.writableFinished) this.#controller?.abort(new Error('client went away'));
  };
}
