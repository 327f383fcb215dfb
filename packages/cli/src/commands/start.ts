/**
 * `cloudproxy start`: the whole system in one process with embedded defaults: a generated TURN
 * REST secret and a self-signed certificate under the data directory, and demo credentials
 * printed at start. Settings come from an optional YAML file whose `turn:` section takes the
 * same option names as `cloudproxy turn` / turnserver.conf.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';
import { restPassword } from '@cloudproxy/turn';
import YAML from 'yaml';
import { loadTurnConfig } from '../config/turn-args.js';
import type { LoadedTurnConfig } from '../config/turn-args.js';
import { ensureSelfSignedCertificate } from '../tls-certificate.js';
import { runTurn } from './turn.js';

/** Options of `cloudproxy start`. */
export interface StartOptions {
  readonly config?: string | undefined;
  readonly dataDir?: string | undefined;
}

interface StartFile {
  dataDir?: string;
  turn?: Record<string, string | number | boolean | (string | number)[]>;
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

function readStartFile(file: string | undefined): StartFile {
  if (!file) return {};
  const parsed: unknown = YAML.parse(readFileSync(file, 'utf8'));
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`${file}: expected a mapping at the top level`);
  const known = new Set(['dataDir', 'turn']);
  for (const key of Object.keys(parsed))
    if (!known.has(key)) throw new Error(`${file}: unknown key '${key}' (expected dataDir, turn)`);
  return parsed;
}

/** The TURN REST secret of this installation, created (mode 0600) on first start. */
function ensureSecret(dataDir: string): string {
  const file = path.join(dataDir, 'turn-secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

/** Builds the configuration of `start`: defaults, then the YAML file's `turn:` section. */
function buildConfig(options: StartOptions): {
  config: LoadedTurnConfig;
  secret: string;
  certGenerated: boolean;
} {
  const file = readStartFile(options.config);
  const dataDir = path.resolve(options.dataDir ?? file.dataDir ?? 'data');
  const secret = ensureSecret(dataDir);
  const userArgs = yamlToArgs(file.turn);
  const hasCert = userArgs.includes('--cert');
  const cert = hasCert
    ? undefined
    : ensureSelfSignedCertificate(path.join(dataDir, 'tls'), [
        'localhost',
        '127.0.0.1',
        os.hostname(),
      ]);
  const args = [
    '--use-auth-secret',
    '--static-auth-secret',
    secret,
    '--realm',
    'cloudproxy',
    '--prometheus',
    ...(cert ? ['--cert', cert.certFile, '--pkey', cert.keyFile] : []),
    ...userArgs,
  ];
  return {
    config: loadTurnConfig(args, () => ({ text: '', mode: 0o600 })),
    secret,
    certGenerated: cert?.generated ?? false,
  };
}

/** Runs `cloudproxy start`. */
export async function runStart(options: StartOptions): Promise<void> {
  const { config, secret, certGenerated } = buildConfig(options);
  const expiry = Math.floor(Date.now() / 1000) + 24 * 3600;
  const username = `${expiry}:demo`;
  const password = restPassword(secret, username, nodeStunCrypto);
  const host = config.server.relayAddresses?.[0]?.externalIp ?? '127.0.0.1';
  const port = config.server.listeningPort ?? 3478;
  const tlsPort = config.server.tlsListeningPort ?? 5349;
  const lines = [
    'cloudproxy is starting with embedded defaults.',
    certGenerated
      ? 'A self-signed TLS certificate was generated in the data directory: browsers must be told to trust it (or configure --cert/--pkey).'
      : '',
    'Demo TURN credentials (valid 24 hours):',
    JSON.stringify(
      {
        iceServers: [
          {
            urls: [
              `turn:${host}:${port}?transport=udp`,
              `turn:${host}:${port}?transport=tcp`,
              `turns:${host}:${tlsPort}?transport=tcp`,
            ],
            username,
            credential: password,
          },
        ],
        iceTransportPolicy: 'relay',
      },
      null,
      2,
    ),
  ];
  process.stderr.write(`${lines.filter(Boolean).join('\n')}\n`);
  await runTurn(config, () => buildConfig(options).config.server);
}
