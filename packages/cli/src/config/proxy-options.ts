/**
 * The options of `cloudproxy proxy`: one table drives the command line, the YAML config file
 * (`--config FILE`, same option names) and the reference in docs/cli-proxy.md.
 * @module
 */

/** How an option's value is read. */
export type ProxyOptionKind = 'string' | 'list' | 'integer' | 'boolean' | 'host-port';

/** One option of `cloudproxy proxy`. */
export interface ProxyOptionSpec {
  /** The option name without dashes, as on the command line and as a YAML key. */
  readonly name: string;
  readonly kind: ProxyOptionKind;
  /** Placeholder in help (`HOST:PORT`, `FILE`, `N`). */
  readonly value?: string;
  readonly description: string;
}

/** Every option of `cloudproxy proxy`, in help order. */
export const PROXY_OPTIONS: readonly ProxyOptionSpec[] = [
  {
    name: 'config',
    kind: 'string',
    value: 'FILE',
    description: 'YAML file with the options below (command-line values win)',
  },
  {
    name: 'listen',
    kind: 'host-port',
    value: 'HOST:PORT',
    description: 'address and port of the HTTPS listener (IPv6 as [::]:443); required',
  },
  {
    name: 'cert',
    kind: 'string',
    value: 'FILE',
    description: 'certificate chain (PEM) of the listener; required',
  },
  {
    name: 'pkey',
    kind: 'string',
    value: 'FILE',
    description: 'private key (PEM) of the listener; required',
  },
  {
    name: 'allow-host',
    kind: 'list',
    value: 'PATTERN',
    description: 'allowed upstream: exact host, IP literal or *.domain (repeatable)',
  },
  {
    name: 'allow-preset',
    kind: 'list',
    value: 'NAME',
    description: 'add a named host list, e.g. calling-vendors (repeatable)',
  },
  {
    name: 'allow-port',
    kind: 'list',
    value: 'N',
    description: 'allowed upstream port (repeatable; default 443)',
  },
  {
    name: 'upstream-ca',
    kind: 'string',
    value: 'FILE',
    description: 'extra CA certificates (PEM) trusted for upstreams',
  },
  {
    name: 'allow-private-upstream',
    kind: 'list',
    value: 'CIDR',
    description: 'special-purpose range upstreams may resolve to, e.g. 10.0.0.0/8 (repeatable)',
  },
  {
    name: 'cors-origin',
    kind: 'list',
    value: 'ORIGIN',
    description: 'origin allowed by CORS, or * (repeatable); unset = no CORS handling',
  },
  {
    name: 'cors-credentials',
    kind: 'boolean',
    description: 'send Access-Control-Allow-Credentials (not with origin *)',
  },
  {
    name: 'cors-max-age',
    kind: 'integer',
    value: 'S',
    description: 'preflight cache time in seconds (default 600)',
  },
  {
    name: 'trusted-proxy',
    kind: 'list',
    value: 'CIDR',
    description: 'reverse proxy in front whose X-Forwarded-* values are trusted (repeatable)',
  },
  {
    name: 'redirects',
    kind: 'string',
    value: 'MODE',
    description: 'pass (default: Location rewritten for the client) or follow',
  },
  {
    name: 'max-redirects',
    kind: 'integer',
    value: 'N',
    description: 'redirects followed per request in follow mode (default 5)',
  },
  {
    name: 'max-body-bytes',
    kind: 'integer',
    value: 'N',
    description: 'largest request body (default 10485760)',
  },
  {
    name: 'max-header-bytes',
    kind: 'integer',
    value: 'N',
    description: 'largest request head (default 16384)',
  },
  {
    name: 'connect-timeout-ms',
    kind: 'integer',
    value: 'MS',
    description: 'upstream connect and TLS handshake (default 10000)',
  },
  {
    name: 'response-timeout-ms',
    kind: 'integer',
    value: 'MS',
    description: 'until the upstream response headers (default 30000)',
  },
  {
    name: 'idle-timeout-ms',
    kind: 'integer',
    value: 'MS',
    description: 'longest silence while a body streams (default 120000)',
  },
  {
    name: 'rate-limit',
    kind: 'integer',
    value: 'N',
    description: 'requests per minute per client (default 0 = unlimited)',
  },
  {
    name: 'max-concurrent',
    kind: 'integer',
    value: 'N',
    description: 'requests and WebSockets open at once per client (default 0 = unlimited)',
  },
  {
    name: 'max-websockets',
    kind: 'integer',
    value: 'N',
    description: 'WebSockets open at once on this proxy (default 10000)',
  },
  {
    name: 'metrics',
    kind: 'host-port',
    value: 'HOST:PORT',
    description: 'serve Prometheus metrics at http://HOST:PORT/metrics',
  },
  {
    name: 'log-file',
    kind: 'string',
    value: 'FILE',
    description: 'write JSON log lines to FILE (default stdout)',
  },
  { name: 'verbose', kind: 'boolean', description: 'debug logging' },
  {
    name: 'workers',
    kind: 'integer',
    value: 'N',
    description: 'processes sharing the port, one per core (default: the number of cores)',
  },
];

/** A parsed `HOST:PORT`. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** The values of the options by name, after parsing. */
export type ProxyOptionValues = Partial<
  Record<string, string | number | boolean | readonly string[] | HostPort>
>;
