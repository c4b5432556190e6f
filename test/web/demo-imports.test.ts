/**
 * The pages run the Node trainer's core, not a copy of it, and nothing of Node: every module the
 * draw page, the training page and the worker reach is walked (type-only imports included, as in
 * test/train/core-neutral.test.ts), and none may be a Node built-in, onnxruntime-node or a
 * Node-only package. And web-demo/ keeps its layout: each of draw/, train/ and worker/ imports
 * only itself, shared/ and src/; shared/ imports only itself and src/.
 */
import { relative } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { importGraph, walk } from '../helpers/imports.js';

const ENTRIES = ['web-demo/draw/main.ts', 'web-demo/train/main.ts', 'web-demo/worker/main.ts'];

test('the pages and their worker reach the shared core and model, and nothing of Node', () => {
  const { reached, packages, forbidden } = walk(ENTRIES);
  expect(forbidden).toEqual([]);
  for (const shared of [
    'src/train/core/training-loop.ts',
    'src/train/core/batch-source.ts',
    'src/train/core/evaluator.ts',
    'src/model/seed-cnn.ts',
    'src/data/mnist-format.ts',
    'src/data/idx-format.ts',
    'web-demo/shared/recipe.ts',
  ]) {
    expect(reached).toContain(shared);
  }
  expect(reached.filter((f) => f.endsWith('.node.ts'))).toEqual([]);
  expect(packages).toContain('onnxruntime-web/wasm');
});

test('draw/, train/ and worker/ import only themselves, shared/ and src/; shared/ only itself and src/', () => {
  const folderOf = (path: string) => relative(ROOT, path).split('/').slice(0, 2).join('/');
  const crossings: string[] = [];
  for (const [from, targets] of importGraph('web-demo')) {
    const own = folderOf(from);
    if (own === 'web-demo/vite.config.ts') continue; // the build's own config, run by Node
    const allowed = own === 'web-demo/shared' ? [own] : [own, 'web-demo/shared'];
    for (const to of targets) {
      const target = folderOf(to);
      if (!target.startsWith('src/') && !allowed.includes(target))
        crossings.push(`${relative(ROOT, from)} imports ${relative(ROOT, to)}`);
    }
  }
  expect(crossings).toEqual([]);
});
