import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // worker processes and threads are CPU-hungry on a shared 2-core machine: one test file at a time
    fileParallelism: false,
  },
});
