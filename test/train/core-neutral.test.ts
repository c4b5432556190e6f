/**
 * The training core runs anywhere: nothing it imports, directly or through other modules,
 * comes from Node (`node:*` or a bare built-in), onnxruntime-node, or a Node-only package.
 * Type-only imports count too, so a Node module cannot creep in as "just a type".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const CORE = join(ROOT, 'src/train/core');
const NODE_ONLY = new Set(['onnxruntime-node', 'sharp', 'commander', 'cli-progress', 'playwright-core']);
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** Every module that `roots` reach, with the chain that reaches it, and each forbidden import. */
function walk(roots: readonly string[]): { reached: Set<string>; forbidden: string[] } {
  const reached = new Set<string>();
  const forbidden: string[] = [];
  const visit = (file: string, chain: string[]) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const spec of imports(file)) {
      const where = [...chain, relative(ROOT, file)].join(' -> ');
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')), [...chain, relative(ROOT, file)]);
      else if (spec.startsWith('node:') || builtinModules.includes(spec) || NODE_ONLY.has(spec.split('/')[0])) forbidden.push(`${where} imports ${spec}`);
    }
  };
  for (const root of roots) visit(root, []);
  return { reached, forbidden };
}

test('src/train/core and everything it imports use neither Node nor onnxruntime-node', () => {
  const { reached, forbidden } = walk(
    readdirSync(CORE)
      .filter((n) => n.endsWith('.ts'))
      .map((n) => join(CORE, n)),
  );
  expect(forbidden).toEqual([]);
  // the walk really followed the core's imports into the other folders
  for (const dep of ['src/graph/builder.ts', 'src/model/graphs.ts', 'src/data/augment.ts', 'src/train/core/config.ts']) {
    expect([...reached].map((f) => relative(ROOT, f))).toContain(dep);
  }
});

test('the public API (src/index.ts, what model files import) uses neither Node nor onnxruntime-node: the training page bundles it', () => {
  const { reached, forbidden } = walk([join(ROOT, 'src/index.ts')]);
  expect(forbidden).toEqual([]);
  for (const dep of ['src/model/layers/conv.ts', 'src/graph/ops/conv.ts', 'src/model/network.ts']) {
    expect([...reached].map((f) => relative(ROOT, f))).toContain(dep);
  }
});

/** The relative imports of every module under src, as an adjacency map. */
function sourceGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts')) {
        graph.set(
          path,
          imports(path)
            .filter((s) => s.startsWith('.'))
            .map((s) => resolve(dirname(path), s.replace(/\.js$/, '.ts'))),
        );
      }
    }
  };
  visit(join(ROOT, 'src'));
  return graph;
}

test('no import cycles in src', () => {
  const graph = sourceGraph();
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

test('the checks catch a Node import', () => {
  expect(imports(join(ROOT, 'src/train/trainer.ts'))).toContain('node:fs');
  expect(imports(join(ROOT, 'src/util/onnxruntime-node.ts'))).toContain('onnxruntime-node');
});
