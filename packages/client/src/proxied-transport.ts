/**
 * `fetch` and `WebSocket` that go through the signaling proxy: each rewrites its URL with
 * {@link rewriteUrl} and otherwise behaves exactly like the implementation it wraps.
 * @module
 */
import { ClientErrorCode, CloudProxyError } from './errors.js';
import type { WebSocketConstructor } from './options.js';
import { rewriteUrl, type ResolvedProxy } from './proxy-url.js';

function unsupported(what: string, option: string): CloudProxyError {
  return new CloudProxyError(
    ClientErrorCode.Unsupported,
    `${option}: no ${what} implementation in this environment; pass one as options.${option}`,
    { field: option },
  );
}

/** The platform's implementation of a global, or undefined where it is missing (Node 20). */
function platformGlobal<K extends 'fetch' | 'WebSocket'>(
  name: K,
): (typeof globalThis)[K] | undefined {
  return (globalThis as Partial<typeof globalThis>)[name];
}

/**
 * A `fetch` that sends proxied hosts through the proxy. `Request` objects are copied with the
 * new URL (method, headers and body kept). Resolves `impl` (default `globalThis.fetch`) at call
 * time; throws `UNSUPPORTED` when there is none.
 */
export function createProxiedFetch(
  proxy: ResolvedProxy | undefined,
  impl: typeof fetch | undefined,
): typeof fetch {
  return (input, init) => {
    const base = impl ?? platformGlobal('fetch');
    if (base === undefined) return Promise.reject(unsupported('fetch', 'fetch'));
    if (typeof input === 'string' || input instanceof URL) {
      return base(rewriteUrl(input, proxy), init);
    }
    const url = rewriteUrl(input.url, proxy);
    return base(url === input.url ? input : new Request(url, input), init);
  };
}

/**
 * A WebSocket class whose constructor rewrites `wss://` URLs through the proxy. It extends
 * `impl` (default `globalThis.WebSocket`), so `instanceof`, events and constants are those of
 * the implementation. Throws `UNSUPPORTED` when there is none (Node 20: pass the `ws` package's
 * WebSocket as `options.WebSocket`).
 */
export function createProxiedWebSocket(
  proxy: ResolvedProxy | undefined,
  impl: WebSocketConstructor | undefined,
): typeof WebSocket {
  const Base = impl ?? platformGlobal('WebSocket');
  if (Base === undefined) throw unsupported('WebSocket', 'WebSocket');
  class ProxiedWebSocket extends Base {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(rewriteUrl(url, proxy), protocols);
    }
  }
  // The subclass inherits the static CONNECTING/OPEN/CLOSING/CLOSED of its base at run time.
  return ProxiedWebSocket as unknown as typeof WebSocket;
}
