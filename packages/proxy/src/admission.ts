/**
 * The checks every request and upgrade passes before anything goes upstream: path, allowlist,
 * port, header size and per-client limits, in that order.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { ClientInfo } from './client-address.js';
import type { ProxyErrorCode } from './errors.js';
import type { ParsedProxyPath, UpstreamTarget } from './proxy-path.js';
import type { ProxyRuntime } from './runtime.js';

/** The outcome of {@link admitRequest}. */
export type Admission =
  | { readonly ok: true; readonly target: UpstreamTarget; readonly client: ClientInfo }
  | {
      readonly ok: false;
      readonly code: ProxyErrorCode;
      readonly message: string;
      readonly target: UpstreamTarget | undefined;
      readonly client: ClientInfo;
    };

/** Bytes a request head takes on the wire: request line plus `name: value\r\n` per header. */
export function headBytes(req: IncomingMessage): number {
  let total = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12;
  for (const part of req.rawHeaders) total += part.length + 2;
  return total;
}

function refused(
  code: ProxyErrorCode,
  message: string,
  target: UpstreamTarget,
  client: ClientInfo,
): Admission {
  return { ok: false, code, message, target, client };
}

/**
 * Checks a request against the policies. On success the client holds a concurrency slot that the
 * caller must release (`rt.limiter.release(client.address)`).
 */
export function admitRequest(
  rt: ProxyRuntime,
  req: IncomingMessage,
  parsed: ParsedProxyPath,
): Admission {
  const { options } = rt;
  const { limits } = options;
  const client = options.trusted.clientInfo(req);
  if (!parsed.ok)
    return { ok: false, code: parsed.code, message: parsed.message, target: undefined, client };
  const { target } = parsed;
  if (!options.hosts.matches(target.host)) {
    const message = `upstream host '${target.host.hostname}' is not allowed`;
    return refused('host-not-allowed', message, target, client);
  }
  if (!options.ports.has(target.port)) {
    return refused(
      'port-not-allowed',
      `upstream port ${target.port} is not allowed`,
      target,
      client,
    );
  }
  const head = headBytes(req);
  if (head > limits.maxHeaderBytes) {
    const message = `request headers take ${head} bytes, more than ${limits.maxHeaderBytes}`;
    return refused('headers-too-large', message, target, client);
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > limits.maxBodyBytes) {
    const message = `request body of ${length} bytes exceeds ${limits.maxBodyBytes}`;
    return refused('body-too-large', message, target, client);
  }
  const limited = rt.limiter.admit(client.address);
  if (limited === 'rate-limited') {
    const message = `more than ${limits.requestsPerMinutePerClient} requests per minute`;
    return refused(limited, message, target, client);
  }
  if (limited !== undefined) {
    const message = `more than ${limits.maxConcurrentPerClient} requests open at once`;
    return refused(limited, message, target, client);
  }
  return { ok: true, target, client };
}
