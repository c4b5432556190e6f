import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // ORT sessions use native threads; one test file at a time keeps 2-core machines responsive.
    fileParallelism: false,
  },
});
