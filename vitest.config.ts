import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two tiers. `fast` (`npm test`): unit tests and quick integration checks, under a minute on
 * two cores, for the edit-test loop. `slow`: the CLIs end to end, hostile input, full and
 * resumed training, the chaos test and the browser. `npm run test:all` runs both; CI runs that.
 */
const FAST = [
  'test/graph/**/*.test.ts',
  'test/model/**/*.test.ts',
  'test/data/**/*.test.ts',
  'test/preprocess/**/*.test.ts',
  'test/export/verify-core.test.ts',
  'test/export/shipped-model.test.ts',
  'test/train/core-neutral.test.ts',
  'test/train/schedule.test.ts',
  'test/train/node-runtime.test.ts',
  'test/train/pytorch-step.test.ts',
  'test/train/average.test.ts',
  'test/train/forgetting.test.ts',
  'test/train/agreement.test.ts',
  'test/train/portable.test.ts',
  'test/train/profile.test.ts',
  'test/web/demo-imports.test.ts',
  'test/web/checked-session.test.ts',
  'test/faults/export-atomic.test.ts',
  'test/faults/ort-tmpdir.test.ts',
  'test/faults/predict-exif.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // ORT sessions use native threads; one test file at a time keeps 2-core machines responsive.
    fileParallelism: false,
    projects: [
      { extends: true, test: { name: 'fast', include: FAST } },
      { extends: true, test: { name: 'slow', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...FAST] } },
    ],
  },
});
