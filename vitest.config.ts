import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure and loopback tests beside the code, fast) and
// `e2e` (real clients: coturn tools, Chromium, the built CLI). `npm test` runs both.
// The `source` export condition points workspace packages at their TypeScript sources, so tests
// never run stale `dist/` builds.
const conditions = ['source', 'module', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  // Vitest passes `ssr.resolve.conditions` to Node as --conditions, which apply to require()
  // too: `import`/`module` there make CommonJS packages such as pg require the ESM build of
  // their dependencies (pg-pool). Node and Vite add import/require by themselves.
  ssr: { resolve: { conditions: ['source', 'node'], externalConditions: ['source', 'node'] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/index.ts'],
    },
  },
});
