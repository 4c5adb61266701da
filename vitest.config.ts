import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/longest-first.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The composition root: the built-in providers, registered as the CLI does.
    setupFiles: ['entry/test-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // A worker process runs many files and keeps its module cache between them: importing
    // the core and the plugins once per worker instead of once per file cut the suite's CPU
    // time by more than half for the ~100 small files. Files must leave no global state
    // behind (no test mutates the registry, process.env or timers without restoring them).
    isolate: false,
    // Most large files are real-time socket/process tests that mostly wait, so twice as many
    // workers as this machine's 2 cores overlap the waiting. They assert on order and media
    // time, not on wall time, and pass with the machine saturated. Beyond 4 the run is
    // CPU-bound: 6 workers measured slower (257 s against 212 s) and starved real-time media.
    maxWorkers: 4,
    sequence: { sequencer: LongestFirstSequencer },
  },
});
