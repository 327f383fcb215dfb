/**
 * A throw-away self-signed certificate for 127.0.0.1 / ::1 / localhost, made with the `openssl`
 * CLI in a temp dir, plus the base64 SHA-256 of its SubjectPublicKeyInfo: the value Chromium's
 * `--ignore-certificate-errors-spki-list` expects (so `turns:` works without trusting any CA).
 */
import { execFileSync } from 'node:child_process';
import { ensureSelfSignedCertificate } from '../../packages/cli/src/tls-certificate.js';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  /** base64(SHA-256(DER SubjectPublicKeyInfo)). */
  spkiSha256: string;
  cleanup(): void;
}

/** base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo. */
export function spkiSha256(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/** Generates a P-256 self-signed certificate, the way `cloudproxy start` does on first run. */
export function makeSelfSignedCert(commonName = 'localhost'): TestCertificate {
  const dir = mkdtempSync(path.join(tmpdir(), 'turn-cert-'));
  let files;
  try {
    files = ensureSelfSignedCertificate(dir, [commonName, '127.0.0.1', '::1']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const { certFile, keyFile } = files;
  const certPem = readFileSync(certFile, 'utf8');
  return {
    dir,
    certFile,
    keyFile,
    certPem,
    spkiSha256: spkiSha256(certPem),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The same SPKI hash computed by the openssl CLI (to cross-check `spkiSha256`). */
export function spkiSha256WithOpenssl(certFile: string): string {
  const pub = execFileSync('openssl', ['x509', '-in', certFile, '-pubkey', '-noout']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  return createHash('sha256').update(der).digest('base64');
}
