/**
 * The local files a module loads: its relative imports (static, `export ... from`, and dynamic
 * ones with a literal specifier), followed transitively, resolved as tsx resolves them (`./a.js`
 * may be `./a.ts`). Packages are not followed: a model file's own code is what can change under
 * a run. A file that cannot be read ends that branch (the import itself will fail, naming it).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const IMPORT =
  /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs'];

const isFile = (path: string) => existsSync(path) && statSync(path).isFile();

/** The file a relative specifier names, or undefined when there is none. */
function resolveLocal(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [
    base,
    ...['.js', '.mjs', '.cjs', '.jsx']
      .filter((e) => base.endsWith(e))
      .flatMap((e) => ['.ts', '.mts', '.cts', '.tsx'].map((t) => base.slice(0, -e.length) + t)),
    ...SOURCE_EXTENSIONS.map((e) => base + e),
    ...SOURCE_EXTENSIONS.map((e) => resolve(base, `index${e}`)),
  ];
  return candidates.find(isFile);
}

/** Every local file `file` imports, directly or through another, in the order first met (`file` itself excluded). */
export function localImports(file: string): string[] {
  const seen = new Set<string>([resolve(file)]);
  const order: string[] = [];
  const visit = (from: string) => {
    let text: string;
    try {
      text = readFileSync(from, 'utf8');
    } catch {
      return;
    }
    for (const m of text.matchAll(IMPORT)) {
      const specifier = m[1] ?? m[2] ?? m[3];
      if (!specifier.startsWith('.')) continue;
      const target = resolveLocal(from, specifier);
      if (!target || seen.has(target)) continue;
      seen.add(target);
      order.push(target);
      visit(target);
    }
  };
  visit(resolve(file));
  return order;
}
