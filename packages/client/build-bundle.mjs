// Builds the self-contained browser file of the client SDK: dist/cloudproxy-client.js, one
// minified ES module (with a source map) exporting the same names as the package entry.
// `cloudproxy start` serves it at /sdk/cloudproxy-client.js. Run after `tsc -b`.
import { build } from 'esbuild';
import path from 'node:path';

const here = import.meta.dirname;

await build({
  entryPoints: [path.join(here, 'src/index.ts')],
  outfile: path.join(here, 'dist/cloudproxy-client.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
