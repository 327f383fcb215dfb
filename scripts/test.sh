#!/usr/bin/env bash
# What `npm test` runs: system dependencies, build, format, lint, type-check of the tests, the
# benchmark helpers' tests, then both vitest projects (unit and e2e), and a one-line summary
# computed from vitest's JSON report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export npm_config_nodedir=/usr

bash scripts/install-deps.sh
npm run build
npm run format:check
npm run lint
npx tsc -p tsconfig.test.json
node --test bench/test/ # the benchmark helpers' own tests (parsers, statistics, load merging)

mkdir -p .tmp
rm -f .tmp/vitest.json
status=0
npx vitest run --reporter=default --reporter=json --outputFile=.tmp/vitest.json || status=$?
summary_status=0
node scripts/vitest-summary.mjs .tmp/vitest.json || summary_status=$?
if ((status != 0 || summary_status != 0)); then
  exit 1
fi
