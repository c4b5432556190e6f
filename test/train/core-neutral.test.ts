/**
 * The training core runs anywhere: nothing it imports, directly or through other modules,
 * comes from Node (`node:*` or a bare built-in), onnxruntime-node, or a Node-only package.
 * Type-only imports count too, so a Node module cannot creep in as "just a type".
 */
import { join, relative } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { importGraph, imports, modulesUnder, walk } from '../helpers/imports.js';

test('src/train/core and everything it imports use neither Node nor onnxruntime-node', () => {
  const { reached, forbidden } = walk(modulesUnder('src/train/core'));
  expect(forbidden).toEqual([]);
  // the walk really followed the core's imports into the other folders
  for (const dep of [
    'src/graph/builder.ts',
    'src/model/graphs.ts',
    'src/data/augment.ts',
    'src/train/core/config.ts',
  ]) {
    expect(reached).toContain(dep);
  }
});

test('the public API (src/index.ts, what model files import) uses neither Node nor onnxruntime-node: the training page bundles it', () => {
  const { reached, forbidden } = walk(['src/index.ts']);
  expect(forbidden).toEqual([]);
  for (const dep of ['src/model/layers/conv.ts', 'src/graph/ops/conv.ts', 'src/model/network.ts']) {
    expect(reached).toContain(dep);
  }
});

test('no import cycles in src', () => {
  const graph = importGraph('src');
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const dfs = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(ROOT, f)).join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const dep of graph.get(file) ?? []) dfs(dep, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) dfs(file, []);
  expect(cycles).toEqual([]);
  expect(graph.size).toBeGreaterThan(50);
});

/**
 * Where Node-only modules live: the CLIs, the Node binding of the trainer (src/train
 * outside core), the package's Node entry (src/node.ts), and files named `*.node.ts`.
 */
const NODE_PLACE = /^src\/cli\/|^src\/train\/[^/]+\.ts$|^src\/node\.ts$|\.node\.ts$/;

test('a module that reaches Node says so by where it lives or by its name (*.node.ts); every other module is pure', () => {
  const modules = modulesUnder('src');
  const reachesNode = modules.filter((m) => walk([m]).forbidden.length > 0);
  const misplaced = reachesNode.filter((m) => !NODE_PLACE.test(m)).map((m) => `${m}: ${walk([m]).forbidden[0]}`);
  expect(misplaced).toEqual([]);
  const pureButNamedNode = modules.filter((m) => m.endsWith('.node.ts') && !reachesNode.includes(m));
  expect(pureButNamedNode).toEqual([]);
  // both kinds exist, so the rule is doing something
  expect(reachesNode.length).toBeGreaterThan(20);
  expect(modules.length - reachesNode.length).toBeGreaterThan(50);
});

test('the checks catch a Node import', () => {
  expect(imports(join(ROOT, 'src/train/training-run.ts'))).toContain('node:fs');
  expect(imports(join(ROOT, 'src/util/ort.node.ts'))).toContain('onnxruntime-node');
});
