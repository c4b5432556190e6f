/**
 * onnxruntime-node's native library opens `$TMPDIR/mat-debug-<pid>.log`, following a link
 * another user planted there (docs/upstream-reports.md). Our processes give it a private
 * TMPDIR (0700, removed at exit), so nothing of ours is ever left in, or written through, the
 * shared one.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { lines, ROOT, runCli } from '../helpers/cli.js';
import { digitPng } from '../helpers/digits.js';

let shared: string;
/** What our processes may have left in a TMPDIR (tsx keeps its own cache there, `tsx-<uid>`: not ours). */
const ours = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('tsx-'))
    .sort();
let image: string;

beforeAll(async () => {
  shared = mkdtempSync(join(tmpdir(), 'shared-tmp-'));
  image = await digitPng(mkdtempSync(join(tmpdir(), 'ort-tmpdir-')), 0);
});

test('predict leaves nothing in the shared TMPDIR: no mat-debug log, no private folder', () => {
  const r = runCli('predict', [image], { env: { TMPDIR: shared } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(lines(r.stdout)).toHaveLength(1);
  expect(ours(shared)).toEqual([]);
});

test("a killed process's private folder is removed by the next one; another user's look-alike, a link or an open folder is not", () => {
  const parent = mkdtempSync(join(tmpdir(), 'shared-tmp-'));
  const dead = 2 ** 22 + 17; // above Linux's default pid_max (4194304): never a running process
  const stale = join(parent, `onnx-mnist-train-${dead}-abcDEF`);
  mkdirSync(stale, { mode: 0o700 });
  writeFileSync(join(stale, `mat-debug-${dead}.log`), '');
  const open = join(parent, `onnx-mnist-train-${dead}-open00`);
  mkdirSync(open, { mode: 0o755 }); // not a folder we make (ours are 0700): keep it
  const victim = join(parent, 'victim');
  mkdirSync(victim);
  writeFileSync(join(victim, 'notes.txt'), 'keep me');
  symlinkSync(victim, join(parent, `onnx-mnist-train-${dead}-link00`));
  const r = runCli('predict', [image], { env: { TMPDIR: parent } });
  expect(r.status).toBe(0);
  expect(ours(parent)).toEqual([`onnx-mnist-train-${dead}-link00`, `onnx-mnist-train-${dead}-open00`, 'victim']);
  expect(lstatSync(join(parent, `onnx-mnist-train-${dead}-link00`)).isSymbolicLink()).toBe(true);
  expect(readFileSync(join(victim, 'notes.txt'), 'utf8')).toBe('keep me');
});

test("only src/util/ort.node.ts imports 'onnxruntime-node': every other module gets the private TMPDIR with it", () => {
  const offenders: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (
        /\.(ts|mts|js|mjs)$/.test(entry.name) &&
        /from\s+['"]onnxruntime-node['"]|import\(\s*['"]onnxruntime-node['"]/.test(readFileSync(path, 'utf8'))
      )
        offenders.push(relative(ROOT, path));
    }
  };
  for (const dir of ['src', 'test', 'bench', 'examples']) visit(join(ROOT, dir));
  expect(offenders).toEqual(['src/util/ort.node.ts']);
});
