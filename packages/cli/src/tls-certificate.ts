/**
 * Self-signed certificates for first start: generated with the `openssl` command into the data
 * directory when no `--cert`/`--pkey` is configured.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** Paths of a certificate chain and its private key (PEM). */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** True when this call generated them. */
  readonly generated: boolean;
}

/**
 * Returns `dir/cert.pem` and `dir/key.pem`, generating a self-signed P-256 certificate for
 * `hosts` (valid 825 days) when they don't exist yet.
 */
export function ensureSelfSignedCertificate(
  dir: string,
  hosts: readonly string[],
): CertificateFiles {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile, generated: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '825',
      '-subj',
      `/CN=${hosts[0] ?? 'localhost'}`,
      '-addext',
      `subjectAltName=${san}`,
    ],
    { stdio: 'pipe' },
  );
  return { certFile, keyFile, generated: true };
}
