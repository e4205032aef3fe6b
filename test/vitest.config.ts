import { defineConfig } from 'vitest/config';

// One process per file (libdbr serves one backend per process), one file at a time: the scenarios start
// their own redis-server processes and measure CPU, so they must not compete with each other on 2 cores.
export default defineConfig({
  test: {
    include: ['faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: process.env.TSDBR_FAULTS_MODE === 'soak' ? 1_800_000 : 180_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
