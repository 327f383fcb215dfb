/**
 * Builds fuzz/fuzz-parse.c with AddressSanitizer and UndefinedBehaviorSanitizer and runs it:
 * the native packet parser must never read outside a datagram, whatever the bytes. Skipped when
 * no C compiler is installed. FUZZ_RUNS sets the number of inputs (default 200 000).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const compiler = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);

describe.skipIf(compiler === undefined)('native packet parser under sanitizers', () => {
  it('handles random and mutated datagrams without a fault', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dataplane-fuzz-'));
    try {
      const binary = path.join(dir, 'fuzz-parse');
      const build = spawnSync(
        compiler ?? 'cc',
        [
          '-O1',
          '-g',
          '-fsanitize=address,undefined',
          '-fno-sanitize-recover=all',
          `-I${path.join(root, 'src')}`,
          path.join(root, 'fuzz/fuzz-parse.c'),
          path.join(root, 'src/fastpath.c'),
          '-o',
          binary,
        ],
        { encoding: 'utf8' },
      );
      expect(build.status, build.stderr).toBe(0);
      const runs = process.env['FUZZ_RUNS'] ?? '200000';
      const seed = String(Date.now() % 1_000_000_007);
      const run = spawnSync(binary, [runs, seed], { encoding: 'utf8', timeout: 120_000 });
      expect(run.status, `seed ${seed}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/^ok /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
