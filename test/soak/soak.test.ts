/**
 * The soak harness itself (test/soak/soak.mjs, `npm run soak`) in a short run: 500 allocations
 * held 20 s against the built `cloudproxy turn`, refreshed every 5 s, echo traffic on 50 of
 * them. Kept: every allocation, refresh and echo; memory and descriptors flat; every relay
 * socket closed after the allocations are deleted. The report goes to a temp dir, not
 * bench/results.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/turn-server.js';

interface SoakReport {
  passed: boolean;
  checks: Record<string, boolean>;
  counters: Record<string, number>;
  server: { baseline: { fds: number }; released: { fds: number }; fds: { last: number } };
}

const outDir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-soak-'));

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

function runSoak(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'test/soak/soak.mjs')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('soak harness (short run)', () => {
  it('holds 500 allocations for 20 s: no refresh or echo lost, memory and fds flat, all released', async () => {
    const { code, output } = await runSoak({
      SOAK_SECONDS: '20',
      SOAK_ALLOCATIONS: '500',
      SOAK_SAMPLE: '50',
      SOAK_REFRESH_S: '5',
      SOAK_SAMPLE_EVERY_S: '1',
      SOAK_WARMUP_S: '4',
      // Short runs on a shared machine: a looser memory bound than the 10-minute default.
      SOAK_MEMORY_TOLERANCE_PCT: '30',
      SOAK_OUT: outDir,
      SOAK_NAME: 'soak-short',
    });
    const report = JSON.parse(
      readFileSync(path.join(outDir, 'soak-short.json'), 'utf8'),
    ) as SoakReport;
    const why = `${output}\n${JSON.stringify({ checks: report.checks, counters: report.counters })}`;
    expect(report.counters['allocated'], why).toBe(500);
    expect(report.counters['refreshes'], why).toBeGreaterThan(1500);
    expect(report.counters['refreshFailures'], why).toBe(0);
    expect(report.counters['echoesSent'], why).toBeGreaterThan(500);
    expect(report.counters['echoesReturned'], why).toBe(report.counters['echoesSent']);
    expect(report.counters['echoesLost'], why).toBe(0);
    expect(report.counters['deleted'], why).toBe(500);
    // Every allocation held one relay socket, and all were closed after the deletes.
    expect(report.server.fds.last - report.server.baseline.fds, why).toBeGreaterThanOrEqual(500);
    expect(report.server.released.fds, why).toBeLessThanOrEqual(report.server.baseline.fds + 16);
    expect(report.passed, why).toBe(true);
    expect(code, why).toBe(0);
    expect(readFileSync(path.join(outDir, 'soak-short.md'), 'utf8')).toContain('**passed**');
  });
});
