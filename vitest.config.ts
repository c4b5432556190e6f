import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two tiers, told apart by the file's name. `fast` (`npm test`): unit tests and quick
 * integration checks, under a minute on two cores, for the edit-test loop. `slow`
 * (`*.slow.test.ts`, and the browser's `*.e2e.test.ts`): the CLIs end to end, hostile input,
 * full and resumed training, the packaged examples, the chaos test and the browser.
 * `npm run test:all` runs both; CI runs that.
 */
const SLOW = ['test/**/*.slow.test.ts', 'test/**/*.e2e.test.ts'];

const source = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  // Model files and examples import the package by its name: in this repository, its sources
  // (tsconfig's paths say the same to tsc and tsx; the published package maps it to dist/).
  resolve: {
    alias: [
      { find: /^onnx-mnist-train$/, replacement: source('./src/index.ts') },
      { find: /^onnx-mnist-train\/(node|web)$/, replacement: source('./src/$1.ts') },
    ],
  },
  test: {
    // Temporary files under one folder per run, removed at its end (test/helpers/scratch-tmpdir.ts).
    globalSetup: ['test/helpers/scratch-tmpdir.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // ORT sessions use native threads; one test file at a time keeps 2-core machines responsive.
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...SLOW] },
      },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
  },
});
