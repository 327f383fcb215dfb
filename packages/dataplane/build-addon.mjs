/**
 * Builds the native data plane addon with node-gyp (`npm run build` runs this). Never fails the
 * build: when there is no compiler, no Node headers or not Linux, it says why, records the
 * reason in build/unavailable.txt (read by `loadDataPlane()`), and the relay uses its
 * JavaScript data plane. Node headers come from npm's `nodedir` or the installation prefix;
 * nothing is downloaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const marker = path.join(dir, 'build', 'unavailable.txt');

function skip(reason) {
  mkdirSync(path.dirname(marker), { recursive: true });
  writeFileSync(marker, `${reason}\n`);
  process.stdout.write(
    `@cloudproxy/dataplane: not built (${reason}); the JavaScript data plane will be used\n`,
  );
  process.exit(0);
}

if (process.platform !== 'linux')
  skip(`native data plane is Linux-only, this is ${process.platform}`);
const prefixes = [process.env.npm_config_nodedir, path.resolve(process.execPath, '../..'), '/usr'];
const nodedir = prefixes.find((p) => p && existsSync(path.join(p, 'include/node/node_api.h')));
if (!nodedir) skip('Node headers (include/node/node_api.h) not found; set npm_config_nodedir');
rmSync(marker, { force: true });
const result = spawnSync('node-gyp', ['rebuild', `--nodedir=${nodedir}`], {
  cwd: dir,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (result.error)
  skip(`node-gyp could not run: ${result.error.message} (run through npm, which provides it)`);
if (result.status !== 0) {
  const lines = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((l) => /error|not found/i.test(l));
  skip(`node-gyp failed: ${lines.slice(0, 3).join(' | ') || `exit ${result.status}`}`);
}
process.stdout.write('@cloudproxy/dataplane: native addon built\n');
