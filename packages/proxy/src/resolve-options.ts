/**
 * Validation and defaults of {@link SignalingProxyOptions}, in one place: the rest of the proxy
 * only ever sees {@link ResolvedProxyOptions}.
 * @module
 */
import type { SecureContext } from 'node:tls';
import { Registry } from 'prom-client';
import { createAddressGuard, systemLookup } from './address-guard.js';
import type { AddressGuard } from './address-guard.js';
import { createTrustedProxies } from './client-address.js';
import type { TrustedProxies } from './client-address.js';
import { createCorsPolicy } from './cors.js';
import type { CorsPolicy } from './cors.js';
import { InvalidProxyOptionError } from './errors.js';
import { createHostMatcher } from './host-matcher.js';
import type { HostMatcher } from './host-matcher.js';
import { MAX_PORT } from './host-syntax.js';
import type { ProxyLogger, SignalingProxyOptions } from './options.js';
import { PRESETS } from './presets.js';
import { upstreamSecureContext } from './upstream-agent.js';

/** Limits with every default filled in (0 = unlimited for rates and per-client caps). */
export interface ResolvedLimits {
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly requestsPerMinutePerClient: number;
  readonly maxConcurrentPerClient: number;
  readonly maxWebSockets: number;
}

/** Options after validation, with their policies built. */
export interface ResolvedProxyOptions {
  readonly hosts: HostMatcher;
  readonly ports: ReadonlySet<number>;
  readonly guard: AddressGuard;
  readonly upstreamCa: string | Buffer | undefined;
  /** The TLS context for upstreams built from `upstreamCa`, shared by HTTP and WebSockets. */
  readonly upstreamTls: SecureContext | undefined;
  readonly cors: CorsPolicy | undefined;
  readonly trusted: TrustedProxies;
  readonly redirects: 'pass' | 'follow';
  readonly maxRedirects: number;
  readonly limits: ResolvedLimits;
  readonly logger: ProxyLogger;
  readonly registry: Registry;
  readonly via: string;
}

/** Default limits. */
export const DEFAULT_LIMITS: ResolvedLimits = {
  maxBodyBytes: 10 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  connectTimeoutMs: 10_000,
  responseTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  requestsPerMinutePerClient: 0,
  maxConcurrentPerClient: 0,
  maxWebSockets: 10_000,
};

const DEFAULT_MAX_REDIRECTS = 5;
const VIA_PSEUDONYM = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** A logger that discards everything. */
export const silentProxyLogger: ProxyLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Validates the options and fills in defaults.
 * @throws InvalidProxyOptionError naming the option and what was received.
 */
export function resolveProxyOptions(options: SignalingProxyOptions): ResolvedProxyOptions {
  const presetHosts = resolvePresets(options.presets ?? []);
  const ports = resolvePorts(options.allowPorts ?? [443]);
  const via = resolveVia(options.via ?? 'cloudproxy');
  const redirects = resolveRedirects(options.redirects ?? 'pass');
  return {
    hosts: createHostMatcher([...options.allowHosts, ...presetHosts]),
    ports,
    guard: createAddressGuard(options.allowPrivateUpstream ?? [], options.lookup ?? systemLookup),
    upstreamCa: options.upstreamCa,
    upstreamTls: upstreamSecureContext(options.upstreamCa),
    cors: options.cors === undefined ? undefined : createCorsPolicy(options.cors),
    trusted: createTrustedProxies(options.trustedProxies ?? []),
    redirects,
    maxRedirects: nonNegative('maxRedirects', options.maxRedirects ?? DEFAULT_MAX_REDIRECTS),
    limits: resolveLimits(options.limits ?? {}),
    logger: options.logger ?? silentProxyLogger,
    registry: options.registry ?? new Registry(),
    via,
  };
}

function resolveVia(via: string): string {
  if (!VIA_PSEUDONYM.test(via)) {
    throw new InvalidProxyOptionError('via', `'${via}' is not a token`);
  }
  return via;
}

/** Checked at run time too: the value may come from an untyped configuration file. */
function resolveRedirects(value: string): 'pass' | 'follow' {
  if (value !== 'pass' && value !== 'follow') {
    throw new InvalidProxyOptionError('redirects', `expected pass or follow, got '${value}'`);
  }
  return value;
}

function resolvePresets(names: readonly string[]): string[] {
  return names.flatMap((name) => {
    const hosts = PRESETS[name];
    if (hosts === undefined) {
      const known = Object.keys(PRESETS).join(', ');
      throw new InvalidProxyOptionError('presets', `unknown preset '${name}' (known: ${known})`);
    }
    return hosts;
  });
}

function resolvePorts(ports: readonly number[]): Set<number> {
  ports.forEach((port, i) => {
    if (!Number.isInteger(port) || port < 1 || port > MAX_PORT) {
      throw new InvalidProxyOptionError(`allowPorts[${i}]`, `${port} is not a port 1-65535`);
    }
  });
  return new Set(ports);
}

function resolveLimits(limits: NonNullable<SignalingProxyOptions['limits']>): ResolvedLimits {
  const resolved: Record<string, number> = {};
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ResolvedLimits)[]) {
    const value = limits[key] ?? DEFAULT_LIMITS[key];
    resolved[key] = nonNegative(`limits.${key}`, value);
  }
  for (const key of [
    'maxBodyBytes',
    'maxHeaderBytes',
    'connectTimeoutMs',
    'responseTimeoutMs',
  ] as const) {
    if (resolved[key] === 0)
      throw new InvalidProxyOptionError(`limits.${key}`, 'must be > 0, got 0');
  }
  return resolved as unknown as ResolvedLimits;
}

function nonNegative(option: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidProxyOptionError(option, `must be a number ≥ 0, got ${value}`);
  }
  return value;
}
