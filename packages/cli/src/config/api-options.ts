/**
 * Options of `cloudproxy api`: commander's raw values checked and turned into the control plane's
 * options, with errors that name the flag (`ERR_CLI_API_CONFIG`).
 * @module
 */
import net from 'node:net';
import path from 'node:path';
import type { ControlPlaneOptions } from '@cloudproxy/control';

/** The stable code of `cloudproxy api` configuration errors. */
export const API_CONFIG_ERROR_CODE = 'ERR_CLI_API_CONFIG';

/** A bad or missing `cloudproxy api` option; the message names the flag. */
export class ApiConfigError extends Error {
  readonly code = API_CONFIG_ERROR_CODE;

  constructor(message: string) {
    super(`cloudproxy api: ${message}`);
    this.name = 'ApiConfigError';
  }
}

/** The flags as commander parses them (camelCase, text). */
export interface ApiFlags {
  readonly listen?: string | undefined;
  readonly cert?: string | undefined;
  readonly pkey?: string | undefined;
  readonly insecureHttp?: boolean | undefined;
  readonly dataDir?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly adminToken?: string | undefined;
  readonly region?: string | undefined;
  readonly publicHost?: string | undefined;
  readonly relayIp?: readonly string[] | undefined;
  readonly turnPort?: string | undefined;
  readonly turnTlsPort?: string | undefined;
  readonly relayPortRange?: string | undefined;
  readonly domain?: readonly string[] | undefined;
  readonly rateLimit?: string | undefined;
  readonly verbose?: boolean | undefined;
}

/** The resolved configuration of `cloudproxy api`. */
export interface ApiCommandConfig {
  readonly host: string;
  readonly port: number;
  /** PEM files for HTTPS; undefined with --insecure-http. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly control: Omit<ControlPlaneOptions, 'logger' | 'registry' | 'relay'>;
  readonly verbose: boolean;
}

function port(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d{1,5}$/.test(text) || value > 65535)
    throw new ApiConfigError(`--${flag} must be a port 0-65535, got '${text}'`);
  return value;
}

/** Splits `HOST:PORT` (`[v6]:PORT` for IPv6). */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  if (!match || host === undefined)
    throw new ApiConfigError(`--listen must be HOST:PORT (IPv6 as [ADDR]:PORT), got '${text}'`);
  return { host, port: port('listen', match[3], 0) };
}

/** Whether a listen host is loopback only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
}

function relayPortRange(text: string | undefined): { min: number; max: number } {
  if (text === undefined) return { min: 49152, max: 65535 };
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  const min = Number(match?.[1]);
  const max = Number(match?.[2]);
  if (!match || min < 1 || max > 65535 || min > max)
    throw new ApiConfigError(`--relay-port-range must be MIN-MAX within 1-65535, got '${text}'`);
  return { min, max };
}

function store(flags: ApiFlags): ControlPlaneOptions['store'] {
  if (flags.databaseUrl !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(flags.databaseUrl))
      throw new ApiConfigError('--database-url must be a postgres:// or postgresql:// URL');
    return { kind: 'postgres', url: flags.databaseUrl };
  }
  return { kind: 'sqlite', file: path.resolve(flags.dataDir ?? 'data', 'cloudproxy.db') };
}

function tls(flags: ApiFlags, host: string): ApiCommandConfig['tls'] {
  if (flags.cert !== undefined && flags.pkey !== undefined)
    return { certFile: flags.cert, keyFile: flags.pkey };
  if (flags.cert !== undefined || flags.pkey !== undefined)
    throw new ApiConfigError('--cert and --pkey go together');
  if (!flags.insecureHttp)
    throw new ApiConfigError(
      'HTTPS needs --cert FILE --pkey FILE; plain HTTP (--insecure-http) is for a loopback --listen only',
    );
  if (!isLoopback(host))
    throw new ApiConfigError(
      `--insecure-http serves bearer tokens in clear text: only on a loopback --listen, got '${host}'`,
    );
  return undefined;
}

function adminTokenOf(
  flags: ApiFlags,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const fromEnv = env['CLOUDPROXY_ADMIN_TOKEN'];
  const adminToken = flags.adminToken ?? (fromEnv === '' ? undefined : fromEnv);
  if (adminToken !== undefined && adminToken.length < 16)
    throw new ApiConfigError('the admin token must be at least 16 characters');
  return adminToken;
}

function rateLimitOf(text: string | undefined): { perMinute: number } | undefined {
  if (text === undefined) return undefined;
  const perMinute = Number(text);
  if (!Number.isInteger(perMinute) || perMinute < 1)
    throw new ApiConfigError(`--rate-limit must be a whole number ≥ 1, got '${text}'`);
  return { perMinute };
}

function nodeOf(flags: ApiFlags, listenHost: string): ControlPlaneOptions['node'] {
  const relayAddresses = [...(flags.relayIp ?? [])];
  for (const ip of relayAddresses)
    if (net.isIP(ip) === 0)
      throw new ApiConfigError(`--relay-ip must be an IP address, got '${ip}'`);
  const publicHost =
    flags.publicHost ?? relayAddresses[0] ?? (isLoopback(listenHost) ? '127.0.0.1' : listenHost);
  if (relayAddresses.length === 0 && net.isIP(publicHost) !== 0) relayAddresses.push(publicHost);
  const turnPort = port('turn-port', flags.turnPort, 3478);
  return {
    region: flags.region ?? 'default',
    publicHost,
    relayAddresses,
    udpPort: turnPort,
    tcpPort: turnPort,
    tlsPort: port('turn-tls-port', flags.turnTlsPort, 5349),
    relayPortRange: relayPortRange(flags.relayPortRange),
    domains: flags.domain,
  };
}

/** Resolves the flags (and CLOUDPROXY_ADMIN_TOKEN) into the configuration. */
export function resolveApiConfig(
  flags: ApiFlags,
  env: Readonly<Record<string, string | undefined>>,
): ApiCommandConfig {
  const { host, port: listenPort } = parseListen(flags.listen ?? '127.0.0.1:8443');
  return {
    host,
    port: listenPort,
    tls: tls(flags, host),
    verbose: flags.verbose ?? false,
    control: {
      store: store(flags),
      adminToken: adminTokenOf(flags, env),
      node: nodeOf(flags, host),
      rateLimit: rateLimitOf(flags.rateLimit),
    },
  };
}
