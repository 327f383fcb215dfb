/**
 * A turnserver.conf holding secrets (`static-auth-secret=`, `user=`) that every user may read is
 * read with a warning by `cloudproxy turn`, and refused with `--strict-config-permissions`.
 * @module
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startTurnServer } from '../helpers/turn-server.js';

let dir: string;
let conf: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-perm-'));
  conf = path.join(dir, 'turnserver.conf');
  writeFileSync(conf, 'use-auth-secret\nstatic-auth-secret=conf-secret-value\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `cloudproxy turn --strict-config-permissions -c <conf> ...extra` to its end. */
function strictTurn(...extra: string[]): SpawnSyncReturns<string> {
  const cli = path.join(REPO_ROOT, 'bin/cloudproxy.js');
  const args = [cli, 'turn', '--strict-config-permissions', '-c', conf, ...extra];
  return spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
}

describe('world-readable config files with secrets', () => {
  it('are read with a warning naming the file and the fix', async () => {
    chmodSync(conf, 0o644);
    const server = await startTurnServer({
      impl: 'cloudproxy',
      users: [{ name: 'u', password: 'p' }],
      extraArgs: ['-c', conf],
    });
    try {
      // The logger writes in batches of at most a second.
      const deadline = Date.now() + 5000;
      while (!server.output().includes('readable by every user') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(server.output()).toContain(`${conf} is readable by every user (mode 644)`);
      expect(server.output()).toContain(`chmod 600 ${conf}`);
      expect(server.output()).not.toContain('conf-secret-value');
    } finally {
      await server.stop();
    }
  });

  it('are refused with --strict-config-permissions (exit 1, nothing listens)', () => {
    chmodSync(conf, 0o644);
    const run = strictTurn();
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('--strict-config-permissions');
    expect(run.stderr).toContain('readable by every user');
  });

  it('are accepted with --strict-config-permissions once chmod 600', () => {
    chmodSync(conf, 0o600);
    const run = strictTurn('--help');
    expect(run.stderr).not.toContain('readable by every user');
    expect(run.status).toBe(0);
  });
});
