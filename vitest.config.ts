import { defineConfig } from 'vitest/config';

// Unit tests are fast and parallel; integration, e2e and browser tests start real local
// servers, so they get longer timeouts. Two cores in CI: keep the worker pool small.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/heavy/**', '**/node_modules/**'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
