/**
 * The training page runs the Node trainer's core, not a copy of it, and nothing of Node:
 * every module its page and worker reach is walked (type-only imports included, as in
 * test/train/core-neutral.test.ts), and none may be a Node built-in, onnxruntime-node or a
 * Node-only package.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const NODE_ONLY = new Set(['onnxruntime-node', 'sharp', 'commander', 'cli-progress', 'playwright-core', 'vite']);
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every project module reachable from `entries`, and each forbidden import with the chain that reaches it. */
function walk(entries: string[]): { reached: string[]; packages: Set<string>; forbidden: string[] } {
  const reached = new Set<string>();
  const packages = new Set<string>();
  const forbidden: string[] = [];
  const visit = (file: string, chain: string[]) => {
    if (reached.has(file)) return;
    reached.add(file);
    const here = [...chain, relative(ROOT, file)];
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')), here);
      else if (spec.startsWith('node:') || builtinModules.includes(spec) || NODE_ONLY.has(spec.split('/')[0]))
        forbidden.push(`${here.join(' -> ')} imports ${spec}`);
      else packages.add(spec.split('?')[0]);
    }
  };
  for (const entry of entries) visit(join(ROOT, entry), []);
  return { reached: [...reached].map((f) => relative(ROOT, f)), packages, forbidden };
}

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
  expect(reached.filter((f) => /^src\/data\/(idx|mnist)\.ts$/.test(f))).toEqual([]);
  expect(packages).toContain('onnxruntime-web/wasm');
});
