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

/** Every module the core reaches, with the chain that reaches it, and each forbidden import. */
function walk(): { reached: Set<string>; forbidden: string[] } {
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
  for (const name of readdirSync(CORE)) if (name.endsWith('.ts')) visit(join(CORE, name), []);
  return { reached, forbidden };
}

test('src/train/core and everything it imports use neither Node nor onnxruntime-node', () => {
  const { reached, forbidden } = walk();
  expect(forbidden).toEqual([]);
  // the walk really followed the core's imports into the other folders
  for (const dep of ['src/graph/builder.ts', 'src/model/graphs.ts', 'src/data/augment.ts', 'src/train/config.ts']) {
    expect([...reached].map((f) => relative(ROOT, f))).toContain(dep);
  }
});

test('the check catches a Node import', () => {
  expect(imports(join(ROOT, 'src/train/trainer.ts'))).toContain('node:fs');
  expect(imports(join(ROOT, 'src/train/session.ts'))).toContain('onnxruntime-node');
});
