import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkStartFilePermissions,
  readStartFile,
  resolveStartSettings,
  turnArgs,
  yamlToArgs,
} from './start-config.js';

const dirs: string[] = [];
function yamlFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'start-config-'));
  dirs.push(dir);
  const file = path.join(dir, 'cloudproxy.yaml');
  writeFileSync(file, text);
  return file;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('cloudproxy start configuration', () => {
  it('warns about, or with --strict-config-permissions refuses, a world-readable file with secrets', () => {
    const name = yamlFile(
      'databaseUrl: postgres://cp:hunter2@db/cp\nturn:\n  static-auth-secret: s3cret\n',
    );
    chmodSync(name, 0o644);
    const file = readStartFile(name);
    expect(checkStartFilePermissions(name, file, false)).toMatch(
      /readable by every user \(mode 644\) and holds secrets \(databaseUrl, turn\.static-auth-secret\); run chmod 600/,
    );
    expect(() => checkStartFilePermissions(name, file, true)).toThrow(
      /--strict-config-permissions/,
    );
    chmodSync(name, 0o600);
    expect(checkStartFilePermissions(name, file, true)).toBeUndefined();
    const plain = yamlFile('databaseUrl: postgres://db/cp\nregion: eu-west\n');
    chmodSync(plain, 0o644);
    expect(checkStartFilePermissions(plain, readStartFile(plain), true)).toBeUndefined();
  });

  it('takes flags over the file over defaults', () => {
    const file = readStartFile(yamlFile('httpsPort: 9443\nregion: eu-west\nturnPort: 3479\n'));
    const settings = resolveStartSettings({ httpsPort: '10443', dataDir: '/tmp/x' }, file);
    expect(settings).toMatchObject({
      httpsPort: 10443,
      turnPort: 3479,
      turnTlsPort: 5349,
      region: 'eu-west',
      dataDir: '/tmp/x',
      allowLoopbackPeers: false,
    });
  });

  it('names the file, the key and the reason of a bad value', () => {
    expect(() => readStartFile(yamlFile('httpsPort: "x"\n'))).toThrow(
      /cloudproxy\.yaml: 'httpsPort'/,
    );
    expect(() => readStartFile(yamlFile('bogus: 1\n'))).toThrow(/bogus/);
    expect(() => readStartFile(yamlFile('region: EU West\n'))).toThrow(/'region'/);
    expect(() => resolveStartSettings({ turnPort: '70000' }, {})).toThrow(
      "--turn-port: '70000' is not a port number",
    );
  });

  it('turns the turn: section into coturn-style arguments after its own defaults', () => {
    expect(
      yamlToArgs({ 'user-quota': 4, 'no-tls': true, verbose: false, 'denied-peer-ip': ['a', 'b'] }),
    ).toEqual(['--user-quota', '4', '--no-tls', '--denied-peer-ip', 'a', '--denied-peer-ip', 'b']);
    const settings = resolveStartSettings(
      { listenIp: ['127.0.0.1'], relayIp: ['127.0.0.1'], allowLoopbackPeers: true },
      { turn: { 'max-bps': 1000 } },
    );
    const args = turnArgs(settings, 's3cret', { certFile: 'c.pem', keyFile: 'k.pem' });
    expect(args.join(' ')).toBe(
      '--use-auth-secret --static-auth-secret s3cret --realm cloudproxy --listening-port 3478 ' +
        '--tls-listening-port 5349 --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 ' +
        '--allow-loopback-peers --cert c.pem --pkey k.pem --max-bps 1000',
    );
  });

  it('treats an empty CLOUDPROXY_ADMIN_TOKEN as unset', () => {
    const saved = process.env['CLOUDPROXY_ADMIN_TOKEN'];
    process.env['CLOUDPROXY_ADMIN_TOKEN'] = '';
    try {
      expect(resolveStartSettings({}, {}).adminToken).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env['CLOUDPROXY_ADMIN_TOKEN'];
      else process.env['CLOUDPROXY_ADMIN_TOKEN'] = saved;
    }
  });
});
