/**
 * Configuration of `cloudproxy start`: command-line flags over an optional YAML file over
 * embedded defaults. The file's `turn:` section takes the option names of `cloudproxy turn` /
 * turnserver.conf, its `proxy:` section those of `cloudproxy proxy`.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { worldReadableMessage } from './turn-config-file.js';

/** Flags of `cloudproxy start` (the contract of ARCHITECTURE.md, plus a few). */
export interface StartFlags {
  readonly config?: string | undefined;
  /** `--strict-config-permissions`: a world-readable YAML file holding secrets is an error. */
  readonly strictConfigPermissions?: boolean | undefined;
  readonly dataDir?: string | undefined;
  readonly httpsPort?: string | undefined;
  readonly turnPort?: string | undefined;
  readonly turnTlsPort?: string | undefined;
  readonly listenIp?: string[] | undefined;
  readonly relayIp?: string[] | undefined;
  readonly allowLoopbackPeers?: boolean | undefined;
  readonly adminToken?: string | undefined;
  readonly region?: string | undefined;
  readonly publicHost?: string | undefined;
  readonly databaseUrl?: string | undefined;
  /** `--no-shared-turn`: false keeps TURN off the HTTPS port. */
  readonly sharedTurn?: boolean | undefined;
  readonly proxyProtocolFrom?: string[] | undefined;
  /** Cluster mode (docs/deployment.md): `all` (default), `relay` or `api`. */
  readonly role?: string | undefined;
  readonly redisUrl?: string | undefined;
  readonly nodeId?: string | undefined;
  readonly capacity?: string | undefined;
  readonly regionOrder?: string[] | undefined;
  readonly heartbeatMs?: string | undefined;
  readonly nodeTtlMs?: string | undefined;
  readonly usageIntervalMs?: string | undefined;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const fileSchema = z
  .object({
    dataDir: z.string().min(1).optional(),
    httpsPort: z.number().int().min(0).max(65535).optional(),
    turnPort: z.number().int().min(0).max(65535).optional(),
    turnTlsPort: z.number().int().min(0).max(65535).optional(),
    listenIp: z.array(z.string()).optional(),
    relayIp: z.array(z.string()).optional(),
    allowLoopbackPeers: z.boolean().optional(),
    region: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits, -')
      .optional(),
    publicHost: z.string().min(1).optional(),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
      .optional(),
    sharedTurn: z.boolean().optional(),
    proxyProtocolFrom: z.array(z.string()).optional(),
    role: z.enum(['all', 'relay', 'api']).optional(),
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'a redis:// URL')
      .optional(),
    nodeId: z.string().min(1).optional(),
    capacity: z.number().int().min(0).optional(),
    regionOrder: z.array(z.string()).optional(),
    heartbeatMs: z.number().int().min(10).optional(),
    nodeTtlMs: z.number().int().min(30).optional(),
    usageIntervalMs: z.number().int().min(10).optional(),
    tls: z
      .object({
        sni: z
          .array(
            z
              .object({
                host: z
                  .string()
                  .regex(/^(\*\.)?[A-Za-z0-9.-]+$/, 'a host name, or *.domain for one label'),
                cert: z.string().min(1),
                pkey: z.string().min(1),
                role: z.enum(['turn', 'http']).optional(),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .optional(),
    proxy: z
      .object({
        allowHosts: z.array(z.string()).optional(),
        allowPorts: z.array(z.number().int().min(1).max(65535)).optional(),
        presets: z.array(z.string()).optional(),
        allowPrivateUpstream: z.array(z.string()).optional(),
        upstreamCa: z.string().optional(),
        corsOrigins: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    turn: z
      .record(z.string(), z.union([scalar, z.array(z.union([z.string(), z.number()]))]))
      .optional(),
  })
  .strict();

/** The parsed YAML file of `cloudproxy start`. */
export type StartFile = z.infer<typeof fileSchema>;

/** Resolved settings of `cloudproxy start`. */
export interface StartSettings {
  readonly dataDir: string;
  readonly httpsPort: number;
  /** Whether --https-port or the file chose the HTTPS port (else 443 is tried before 8443). */
  readonly httpsPortGiven: boolean;
  /** TURN over TLS on the HTTPS port too (default true). */
  readonly sharedTurn: boolean;
  /** Load balancers that send a PROXY protocol header (HTTPS port and TURN TCP/TLS). */
  readonly proxyProtocolFrom: readonly string[];
  /** Certificates chosen by SNI on the HTTPS port, optionally pinned to one role. */
  readonly sni: NonNullable<NonNullable<StartFile['tls']>['sni']>;
  readonly turnPort: number;
  readonly turnTlsPort: number;
  /** Empty: all addresses. */
  readonly listenIps: readonly string[];
  readonly relayIps: readonly string[];
  readonly allowLoopbackPeers: boolean;
  readonly adminToken: string | undefined;
  readonly region: string;
  readonly publicHost: string | undefined;
  /** PostgreSQL instead of the embedded SQLite store. */
  readonly databaseUrl: string | undefined;
  readonly proxy: NonNullable<StartFile['proxy']>;
  readonly turn: StartFile['turn'];
  readonly cluster: ClusterSettings;
}

/** Cluster mode settings of `start` (`redisUrl` undefined: a single node). */
export interface ClusterSettings {
  readonly role: 'all' | 'relay' | 'api';
  readonly redisUrl: string | undefined;
  readonly nodeId: string | undefined;
  readonly capacity: number;
  readonly regionOrder: readonly string[];
  readonly heartbeatMs: number | undefined;
  readonly nodeTtlMs: number | undefined;
  readonly usageIntervalMs: number | undefined;
}

/** Reads and validates the YAML file; errors name the file, the key and the reason. */
export function readStartFile(file: string | undefined): StartFile {
  if (!file) return {};
  const parsed: unknown = YAML.parse(readFileSync(file, 'utf8'));
  if (parsed === null || parsed === undefined) return {};
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue?.path.join('.') ?? '';
    throw new Error(`${file}: ${key ? `'${key}': ` : ''}${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** A URL whose user-info holds a password (`scheme://user:password@host`). */
const URL_WITH_PASSWORD = /^[a-z]+:\/\/[^/@]*:[^/@]*@/i;

/** The keys of a parsed YAML file that hold secrets (passwords in URLs, TURN users and secrets). */
export function startFileSecrets(file: StartFile): string[] {
  const names: string[] = [];
  if (file.databaseUrl !== undefined && URL_WITH_PASSWORD.test(file.databaseUrl))
    names.push('databaseUrl');
  if (file.redisUrl !== undefined && URL_WITH_PASSWORD.test(file.redisUrl)) names.push('redisUrl');
  for (const key of ['user', 'static-auth-secret'])
    if (file.turn?.[key] !== undefined) names.push(`turn.${key}`);
  return names;
}

/**
 * Checks that others may not read a YAML file holding secrets: returns the warning to log, or
 * throws it as an error when `strict` (`--strict-config-permissions`).
 */
export function checkStartFilePermissions(
  fileName: string | undefined,
  file: StartFile,
  strict: boolean,
): string | undefined {
  if (!fileName) return undefined;
  const problem = worldReadableMessage(fileName, statSync(fileName).mode, startFileSecrets(file));
  if (problem !== undefined && strict) throw new Error(`--strict-config-permissions: ${problem}`);
  return problem;
}

function port(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535)
    throw new Error(`--${name}: '${text}' is not a port number`);
  return n;
}

const nonEmpty = (text: string | undefined): string | undefined => (text === '' ? undefined : text);

/** The HTTPS port when none is configured and 443 cannot be bound. */
const DEFAULT_HTTPS_PORT = 8443;

function ports(flags: StartFlags, file: StartFile) {
  return {
    httpsPort: port('https-port', flags.httpsPort, file.httpsPort ?? DEFAULT_HTTPS_PORT),
    httpsPortGiven: flags.httpsPort !== undefined || file.httpsPort !== undefined,
    turnPort: port('turn-port', flags.turnPort, file.turnPort ?? 3478),
    turnTlsPort: port('turn-tls-port', flags.turnTlsPort, file.turnTlsPort ?? 5349),
  };
}

/** Settings that may come from the environment (kept out of files and process lists). */
function secrets(flags: StartFlags, file: StartFile) {
  return {
    adminToken: flags.adminToken ?? nonEmpty(process.env['CLOUDPROXY_ADMIN_TOKEN']),
    databaseUrl:
      flags.databaseUrl ?? nonEmpty(process.env['CLOUDPROXY_DATABASE_URL']) ?? file.databaseUrl,
  };
}

/** Settings of the shared HTTPS port: TURN on it, PROXY protocol sources, SNI certificates. */
function sharedPort(flags: StartFlags, file: StartFile) {
  return {
    sharedTurn: flags.sharedTurn ?? file.sharedTurn ?? true,
    proxyProtocolFrom: flags.proxyProtocolFrom ?? file.proxyProtocolFrom ?? [],
    sni: file.tls?.sni ?? [],
  };
}

function count(name: string, text: string | undefined, fallback: number | undefined) {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`--${name}: '${text}' is not a non-negative integer`);
  return Number(text);
}

/** Cluster settings; a role other than `all` needs Redis, and Redis needs PostgreSQL. */
function roleOf(flags: StartFlags, file: StartFile): ClusterSettings['role'] {
  const role = flags.role ?? file.role ?? 'all';
  if (role !== 'all' && role !== 'relay' && role !== 'api')
    throw new Error(`--role: '${role}' is not one of all, relay, api`);
  return role;
}

function cluster(flags: StartFlags, file: StartFile, databaseUrl: string | undefined) {
  const role = roleOf(flags, file);
  const redisUrl = flags.redisUrl ?? nonEmpty(process.env['CLOUDPROXY_REDIS_URL']) ?? file.redisUrl;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    throw new Error(`--redis-url: '${redisUrl}' is not a redis:// URL`);
  if (role !== 'all' && redisUrl === undefined)
    throw new Error(`--role ${role}: needs --redis-url (cluster mode)`);
  if (redisUrl !== undefined && databaseUrl === undefined)
    throw new Error('--redis-url: cluster mode needs --database-url (PostgreSQL)');
  return {
    role,
    redisUrl,
    nodeId: flags.nodeId ?? file.nodeId,
    capacity: count('capacity', flags.capacity, file.capacity) ?? 0,
    regionOrder: (flags.regionOrder ?? file.regionOrder ?? []).flatMap((r) => r.split(',')),
    heartbeatMs: count('heartbeat-ms', flags.heartbeatMs, file.heartbeatMs),
    nodeTtlMs: count('node-ttl-ms', flags.nodeTtlMs, file.nodeTtlMs),
    usageIntervalMs: count('usage-interval-ms', flags.usageIntervalMs, file.usageIntervalMs),
  } satisfies ClusterSettings;
}

/** Flags over file over defaults. */
export function resolveStartSettings(flags: StartFlags, file: StartFile): StartSettings {
  const stores = secrets(flags, file);
  return {
    ...ports(flags, file),
    ...stores,
    cluster: cluster(flags, file, stores.databaseUrl),
    dataDir: path.resolve(flags.dataDir ?? file.dataDir ?? 'data'),
    listenIps: flags.listenIp ?? file.listenIp ?? [],
    relayIps: flags.relayIp ?? file.relayIp ?? [],
    allowLoopbackPeers: flags.allowLoopbackPeers ?? file.allowLoopbackPeers ?? false,
    region: flags.region ?? file.region ?? 'default',
    publicHost: flags.publicHost ?? file.publicHost,
    ...sharedPort(flags, file),
    proxy: file.proxy ?? {},
    turn: file.turn,
  };
}

/** Turns a `turn:` YAML section into coturn-style argv (`key: true` → `--key`). */
export function yamlToArgs(section: StartFile['turn']): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(section ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === true) args.push(`--${key}`);
      else if (v !== false) args.push(`--${key}`, String(v));
    }
  }
  return args;
}

/** The coturn-style argv of the relay inside `start`: defaults, then flags, then the file's `turn:`. */
export function turnArgs(
  settings: StartSettings,
  secret: string,
  cert: { certFile: string; keyFile: string } | undefined,
): string[] {
  return [
    '--use-auth-secret',
    '--static-auth-secret',
    secret,
    '--realm',
    'cloudproxy',
    '--listening-port',
    String(settings.turnPort),
    '--tls-listening-port',
    String(settings.turnTlsPort),
    ...settings.listenIps.flatMap((ip) => ['--listening-ip', ip]),
    ...settings.relayIps.flatMap((ip) => ['--relay-ip', ip]),
    ...(settings.allowLoopbackPeers ? ['--allow-loopback-peers'] : []),
    ...settings.proxyProtocolFrom.flatMap((range) => ['--proxy-protocol-from', range]),
    ...(cert ? ['--cert', cert.certFile, '--pkey', cert.keyFile] : []),
    ...yamlToArgs(settings.turn),
  ];
}
