// Prints `tests: N passed, N failed` (`, N skipped` when any) from vitest's JSON report and
// exits non-zero when anything failed or a test file could not run.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.tmp/vitest.json';
if (!existsSync(file)) {
  console.log(`tests: no report (${file} missing: vitest did not finish)`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
// A file that fails to load (syntax error, failing beforeAll) may count no failed test.
const brokenFiles = (report.testResults ?? []).filter(
  (r) => r.status === 'failed' && !(r.assertionResults ?? []).some((a) => a.status === 'failed'),
);
for (const r of brokenFiles) {
  console.log(`  file failed: ${r.name}: ${(r.message ?? '').split('\n')[0]}`);
}
if (failed > 0 || brokenFiles.length > 0 || report.success === false) process.exit(1);
