/**
 * Test harness of the proxy's loopback tests: the test upstream, a standalone proxy in front of
 * it (trusting the test CA), a client agent trusting the proxy's certificate, and captured logs.
 */
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { WebSocket } from 'ws';
import { startHttpsUpstream } from '../../../test/helpers/https-upstream.js';
import type { HttpsUpstream } from '../../../test/helpers/https-upstream.js';
import { createProxyServer } from '../src/index.js';
import type {
  ProxyLogger,
  ProxyServer,
  ResolvedAddress,
  SignalingProxyOptions,
} from '../src/index.js';

/** One captured log line. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A logger that keeps every line. */
export function captureLogger(): { logger: ProxyLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}

/** A resolver for tests: `upstream.test` and its subdomains are 127.0.0.1, the rest a table. */
export function testLookup(
  table: Record<string, string> = {},
): (hostname: string) => Promise<ResolvedAddress[]> {
  return (hostname) => {
    const address =
      table[hostname] ??
      (hostname === 'upstream.test' || hostname.endsWith('.upstream.test')
        ? '127.0.0.1'
        : undefined);
    if (address === undefined) {
      return Promise.reject(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
      );
    }
    return Promise.resolve([{ address, family: address.includes(':') ? 6 : 4 }]);
  };
}

/** A proxy in front of an upstream, and a client for it. */
export interface ProxyFixture {
  readonly upstream: HttpsUpstream;
  readonly server: ProxyServer;
  /** `https://127.0.0.1:PORT` */
  readonly base: string;
  /** `127.0.0.1:UPSTREAM_PORT`, the upstream as it appears in proxy paths. */
  readonly target: string;
  readonly logs: LogLine[];
  readonly registry: Registry;
  readonly client: Agent;
  /** Sends a request to the proxy. */
  send(
    path: string,
    options?: Partial<Dispatcher.RequestOptions>,
  ): Promise<Dispatcher.ResponseData>;
  /** Opens a WebSocket through the proxy (does not wait for `open`). */
  websocket(path: string, protocols?: string[], headers?: Record<string, string>): WebSocket;
  close(): Promise<void>;
}

/** Starts a proxy (options merged over loopback-friendly defaults) in front of `upstream`. */
export async function startProxy(
  upstream: HttpsUpstream,
  overrides: Partial<SignalingProxyOptions> = {},
): Promise<ProxyFixture> {
  const { logger, lines } = captureLogger();
  const registry = new Registry();
  const server = await createProxyServer({
    listen: { host: '127.0.0.1', port: 0 },
    tls: { cert: upstream.pki.certPem, key: upstream.pki.keyPem },
    allowHosts: ['127.0.0.1', 'upstream.test', '*.upstream.test'],
    allowPorts: [upstream.port],
    allowPrivateUpstream: ['127.0.0.0/8'],
    upstreamCa: upstream.pki.caPem,
    lookup: testLookup(),
    logger,
    registry,
    ...overrides,
  });
  const base = `https://127.0.0.1:${server.address().port}`;
  const client = new Agent({ connect: { ca: upstream.pki.caPem }, keepAliveTimeout: 1000 });
  return {
    upstream,
    server,
    base,
    target: `127.0.0.1:${upstream.port}`,
    logs: lines,
    registry,
    client,
    send: (path, options = {}) => request(`${base}${path}`, { dispatcher: client, ...options }),
    websocket: (path, protocols = [], headers = {}) =>
      new WebSocket(`wss://127.0.0.1:${server.address().port}${path}`, protocols, {
        ca: upstream.pki.caPem,
        headers,
      }),
    close: async () => {
      await client.destroy();
      await server.close();
    },
  };
}

/** Starts an upstream and a proxy in front of it. */
export async function startFixture(
  overrides: Partial<SignalingProxyOptions> = {},
): Promise<ProxyFixture> {
  const upstream = await startHttpsUpstream();
  try {
    const fixture = await startProxy(upstream, overrides);
    return {
      ...fixture,
      close: async () => {
        await fixture.close();
        await upstream.close();
      },
    };
  } catch (error) {
    await upstream.close();
    throw error;
  }
}

/** The JSON error code of a refusal response. */
export async function errorCode(response: Dispatcher.ResponseData): Promise<string> {
  const body = (await response.body.json()) as { error?: { code?: string } };
  return body.error?.code ?? '(no error code)';
}
