import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The composition root: the built-in providers, registered as the CLI does.
    setupFiles: ['entry/test-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: more workers only adds contention for the real-time audio tests.
    maxWorkers: 2,
  },
});
