/**
 * Loading the configuration of `cloudproxy proxy`: command-line values over the YAML file's,
 * checked and turned into {@link ProxyServerOptions}. Errors name the option and the source.
 * @module
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { ProxyServerOptions } from '@cloudproxy/proxy';
import YAML from 'yaml';
import { PROXY_OPTIONS } from './proxy-options.js';
import type { HostPort, ProxyOptionSpec, ProxyOptionValues } from './proxy-options.js';

/** ProxyConfigError: a bad `cloudproxy proxy` option, naming it and where it came from. */
export class ProxyConfigError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_CLI_PROXY_CONFIG';
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = 'ProxyConfigError';
  }
}

/** Catalog entry of {@link ProxyConfigError}, for docs/errors.md. */
export const PROXY_CONFIG_ERROR_CODE = {
  code: 'ERR_CLI_PROXY_CONFIG',
  description:
    'A `cloudproxy proxy` option (command line or `--config` YAML) is unknown, missing, or has a bad value, or a file it names cannot be read. The message names the option and the source.',
} as const;

/** The loaded configuration: the server's options plus the command's own. */
export interface LoadedProxyConfig {
  readonly server: ProxyServerOptions;
  readonly metrics: HostPort | undefined;
  readonly logFile: string | undefined;
  readonly verbose: boolean;
  /** Worker processes (`--workers`; default the number of cores); 1 runs in this process. */
  readonly workers: number;
  /** Reads the certificate and key again (SIGHUP). */
  readonly readTls: () => { cert: Buffer; key: Buffer };
}

const SPECS = new Map(PROXY_OPTIONS.map((spec) => [spec.name, spec]));

/** Parses `HOST:PORT` (`[v6]:PORT` for IPv6). */
export function parseHostPort(text: string, where: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (match === null || host === undefined || port > 65_535) {
    throw new ProxyConfigError(`${where}: expected HOST:PORT (IPv6 as [::1]:443), got '${text}'`);
  }
  return { host, port };
}

/** Checks and converts one value from the command line (text) or YAML (any scalar). */
export function convertValue(
  spec: ProxyOptionSpec,
  raw: unknown,
  where: string,
): ProxyOptionValues[string] {
  const fail = (expected: string): never => {
    throw new ProxyConfigError(`${where}: expected ${expected}, got ${JSON.stringify(raw)}`);
  };
  switch (spec.kind) {
    case 'list': {
      const items: unknown[] = Array.isArray(raw) ? raw : [raw];
      return items.map((item) =>
        typeof item === 'string' || typeof item === 'number'
          ? String(item)
          : fail('a string or a list of strings'),
      );
    }
    case 'integer': {
      const text = typeof raw === 'number' || typeof raw === 'string' ? String(raw) : '';
      return /^\d+$/.test(text) ? Number(text) : fail('a non-negative integer');
    }
    case 'boolean':
      return toBoolean(raw) ?? fail('true or false');
    case 'host-port':
      return typeof raw === 'string' ? parseHostPort(raw, where) : fail('HOST:PORT');
    case 'string':
      return typeof raw === 'string' && raw !== '' ? raw : fail('a non-empty string');
  }
}

function toBoolean(raw: unknown): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return undefined;
}

/** Reads the YAML file's options, checking names and values. */
export function readProxyConfigFile(file: string, text: string): ProxyOptionValues {
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (error) {
    throw new ProxyConfigError(
      `${file}: not valid YAML (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProxyConfigError(`${file}: expected a mapping of option names to values`);
  }
  const values: ProxyOptionValues = {};
  for (const [key, raw] of Object.entries(parsed)) {
    const spec = SPECS.get(key);
    if (spec === undefined || key === 'config') {
      throw new ProxyConfigError(`${file}: unknown option '${key}' (see cloudproxy proxy --help)`);
    }
    values[key] = convertValue(spec, raw, `${file}: ${key}`);
  }
  return values;
}

function readFileFor(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ProxyConfigError(
      `--${option}: cannot read '${file}' (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { cause: error },
    );
  }
}

function integers(values: readonly string[] | undefined, option: string): number[] | undefined {
  return values?.map((v) => {
    if (!/^\d+$/.test(v))
      throw new ProxyConfigError(`--${option}: expected an integer, got '${v}'`);
    return Number(v);
  });
}

/** `--workers`: at least 1; unset means one per core. */
function workerCount(value: number | undefined): number {
  if (value === undefined) return os.availableParallelism();
  if (value < 1) throw new ProxyConfigError(`--workers: expected at least 1, got ${value}`);
  return value;
}

/**
 * Builds the configuration from command-line values over the file's (`--config`).
 * @throws ProxyConfigError naming the option.
 */
export function loadProxyConfig(cli: ProxyOptionValues): LoadedProxyConfig {
  const configFile = cli['config'] as string | undefined;
  const fromFile =
    configFile === undefined
      ? {}
      : readProxyConfigFile(configFile, readFileFor('config', configFile).toString('utf8'));
  const v: ProxyOptionValues = { ...fromFile, ...cli };
  const get = (name: string): ProxyOptionValues[string] => v[name];
  const str = (name: string): string | undefined => get(name) as string | undefined;
  const list = (name: string): string[] | undefined => get(name) as string[] | undefined;
  const num = (name: string): number | undefined => get(name) as number | undefined;
  const listen = get('listen') as HostPort | undefined;
  const certFile = str('cert');
  const keyFile = str('pkey');
  for (const [name, value] of [
    ['listen', listen],
    ['cert', certFile],
    ['pkey', keyFile],
  ] as const) {
    if (value === undefined) throw new ProxyConfigError(`--${name} is required`);
  }
  const readTls = (): { cert: Buffer; key: Buffer } => ({
    cert: readFileFor('cert', certFile ?? ''),
    key: readFileFor('pkey', keyFile ?? ''),
  });
  const upstreamCa = str('upstream-ca');
  const corsOrigins = list('cors-origin');
  const allowPorts = integers(list('allow-port'), 'allow-port');
  const server: ProxyServerOptions = {
    listen: listen ?? { host: '', port: 0 },
    tls: readTls(),
    allowHosts: list('allow-host') ?? [],
    presets: list('allow-preset') ?? [],
    ...(allowPorts === undefined ? {} : { allowPorts }),
    ...(upstreamCa === undefined ? {} : { upstreamCa: readFileFor('upstream-ca', upstreamCa) }),
    allowPrivateUpstream: list('allow-private-upstream') ?? [],
    ...(corsOrigins === undefined
      ? {}
      : {
          cors: {
            origins: corsOrigins,
            credentials: get('cors-credentials') === true,
            maxAgeS: num('cors-max-age'),
          },
        }),
    trustedProxies: list('trusted-proxy') ?? [],
    redirects: (str('redirects') ?? 'pass') as 'pass' | 'follow',
    maxRedirects: num('max-redirects'),
    limits: {
      maxBodyBytes: num('max-body-bytes'),
      maxHeaderBytes: num('max-header-bytes'),
      connectTimeoutMs: num('connect-timeout-ms'),
      responseTimeoutMs: num('response-timeout-ms'),
      idleTimeoutMs: num('idle-timeout-ms'),
      requestsPerMinutePerClient: num('rate-limit'),
      maxConcurrentPerClient: num('max-concurrent'),
      maxWebSockets: num('max-websockets'),
    },
  };
  return {
    server,
    metrics: get('metrics') as HostPort | undefined,
    logFile: str('log-file'),
    verbose: get('verbose') === true,
    workers: workerCount(num('workers')),
    readTls,
  };
}
