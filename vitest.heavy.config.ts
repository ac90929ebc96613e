import { defineConfig } from 'vitest/config';

// Scenarios too heavy for `npm test` (the 5,000-file repository): `npm run test:heavy`, also run by .ci/run.
export default defineConfig({
  test: {
    include: ['test/heavy/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
