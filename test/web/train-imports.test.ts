/**
 * The training page runs the Node trainer's core, not a copy of it, and nothing of Node:
 * every module its page and worker reach is walked (type-only imports included, as in
 * test/train/core-neutral.test.ts), and none may be a Node built-in, onnxruntime-node or a
 * Node-only package.
 */
import { expect, test } from 'vitest';
import { walk } from '../helpers/imports.js';

test('the training page and its worker reach the shared core and model, and nothing of Node', () => {
  const { reached, packages, forbidden } = walk(['web-demo/train.ts', 'web-demo/train-worker.ts']);
  expect(forbidden).toEqual([]);
  for (const shared of [
    'src/train/core/training-loop.ts',
    'src/train/core/batch-source.ts',
    'src/train/core/evaluator.ts',
    'src/model/seed-cnn.ts',
    'src/data/mnist-format.ts',
    'src/data/idx-format.ts',
  ]) {
    expect(reached).toContain(shared);
  }
  expect(reached.filter((f) => f.endsWith('.node.ts'))).toEqual([]);
  expect(packages).toContain('onnxruntime-web/wasm');
});
