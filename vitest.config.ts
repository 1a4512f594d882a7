import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // End-to-end suites share one Docker engine, sshd and registry: run files one at a time.
    fileParallelism: false,
  },
});
