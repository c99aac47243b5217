import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript sources in tests (the "source" export condition).
    conditions: ['source', 'node', 'import', 'default'],
  },
  ssr: {
    resolve: {
      conditions: ['source', 'node', 'import', 'default'],
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'scripts/**/*.test.ts', 'test-support/**/*.test.ts'],
    // No test reaches beyond loopback, even if a guard of the code under test regresses.
    setupFiles: ['test-support/network-guard-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
