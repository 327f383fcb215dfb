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
  const client = options.trusted.clientInfo(req);
  if (!parsed.ok)
    return { ok: false, code: parsed.code, message: parsed.message, target: undefined, client };
  const { target } = parsed;
  const refuse = (code: ProxyErrorCode, message: string): Admission => ({
    ok: false,
    code,
    message,
    target,
    client,
  });
  if (!options.hosts.matches(target.host)) {
    return refuse('host-not-allowed', `upstream host '${target.host.hostname}' is not allowed`);
  }
  if (!options.ports.has(target.port)) {
    return refuse('port-not-allowed', `upstream port ${target.port} is not allowed`);
  }
  const head = headBytes(req);
  if (head > options.limits.maxHeaderBytes) {
    return refuse(
      'headers-too-large',
      `request headers take ${head} bytes, more than ${options.limits.maxHeaderBytes}`,
    );
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > options.limits.maxBodyBytes) {
    return refuse(
      'body-too-large',
      `request body of ${length} bytes exceeds ${options.limits.maxBodyBytes}`,
    );
  }
  const limited = rt.limiter.admit(client.address);
  if (limited === 'rate-limited') {
    return refuse(
      limited,
      `more than ${options.limits.requestsPerMinutePerClient} requests per minute`,
    );
  }
  if (limited !== undefined) {
    return refuse(
      limited,
      `more than ${options.limits.maxConcurrentPerClient} requests open at once`,
    );
  }
  return { ok: true, target, client };
}
