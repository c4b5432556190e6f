/**
 * The import walker of the boundary tests (core-neutral, demo-imports): every module a set of
 * entry points reaches through relative imports (type-only ones included, so a Node module
 * cannot creep in as "just a type"), the packages they name, and each import of Node (a
 * `node:` module, a bare built-in, or a Node-only package) with the chain that reaches it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from './cli.js';

const NODE_ONLY = new Set(['onnxruntime-node', 'sharp', 'commander', 'cli-progress', 'playwright-core', 'vite']);
const IMPORT =
  /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** The module specifiers a file imports, as written. */
export function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

const isNode = (spec: string): boolean =>
  spec.startsWith('node:') || builtinModules.includes(spec) || NODE_ONLY.has(spec.split('/')[0]);
const resolveTs = (from: string, spec: string): string => resolve(dirname(from), spec.replace(/\.js$/, '.ts'));

export interface Walk {
  /** Every module reached, relative to the repository root. */
  reached: string[];
  /** Bare package specifiers imported (query suffixes such as `?url` removed). */
  packages: Set<string>;
  /** `a.ts -> b.ts imports node:fs`, one per Node import found. */
  forbidden: string[];
}

/** Walks from `entries` (paths relative to the repository root). */
export function walk(entries: readonly string[]): Walk {
  const reached = new Set<string>();
  const packages = new Set<string>();
  const forbidden: string[] = [];
  const visit = (file: string, chain: string[]) => {
    if (reached.has(file)) return;
    reached.add(file);
    const here = [...chain, relative(ROOT, file)];
    for (const spec of imports(file)) {
      if (spec.startsWith('.')) visit(resolveTs(file, spec), here);
      else if (isNode(spec)) forbidden.push(`${here.join(' -> ')} imports ${spec}`);
      else packages.add(spec.split('?')[0]);
    }
  };
  for (const entry of entries) visit(join(ROOT, entry), []);
  return { reached: [...reached].map((f) => relative(ROOT, f)), packages, forbidden };
}

/** Every .ts module under `dir` (relative to the repository root), recursively. */
export function modulesUnder(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts')) out.push(relative(ROOT, path));
    }
  };
  visit(join(ROOT, dir));
  return out.sort();
}

/** The relative imports of every module under `dir`, as an adjacency map (absolute paths). */
export function importGraph(dir: string): Map<string, string[]> {
  return new Map(
    modulesUnder(dir).map((m) => {
      const path = join(ROOT, m);
      return [
        path,
        imports(path)
          .filter((s) => s.startsWith('.'))
          .map((s) => resolveTs(path, s)),
      ];
    }),
  );
}
