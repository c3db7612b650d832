import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests start servers and real ffmpeg/ffprobe/rtmpdump clients.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 10_000,
    // Files run in parallel, two at a time (2-core machine, and each e2e file already
    // runs several processes).
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    // Kills every server/client a test left running, and prints a failed test's server logs.
    setupFiles: ['test/support/setup.ts'],
    // The summary reporter's `tests: N passed, N failed` must stay the last line printed.
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
