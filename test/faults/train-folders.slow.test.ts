/**
 * A run owns its folder: no two runs share one, nothing is written into a folder that is
 * not a run, bad settings are refused before anything hangs or is allocated.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createUniqueRunFolder } from '../../src/train/run-folder.js';
import { lines, runCli, startCli } from '../helpers/cli.js';
import { quickConfig } from '../helpers/train.js';

const quick = ['--train-limit', '128', '--test-limit', '100', '--epochs', '1', '--threads', '1', '--batch-size', '64'];
const tmp = () => mkdtempSync(join(tmpdir(), 'faults-'));
const metricLines = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');

describe('two runs never share a folder', () => {
  test('two runs started together with the same --out: one trains, the other is refused in one line', async () => {
    const out = join(tmp(), 'run');
    const [a, b] = await Promise.all([
      startCli('train', [...quick, '--out', out]).result,
      startCli('train', [...quick, '--out', out]).result,
    ]);
    const results = [a, b].sort((x, y) => (x.status ?? 9) - (y.status ?? 9));
    expect(results.map((r) => r.status)).toEqual([0, 1]);
    const refusal = lines(results[1].stderr);
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toMatch(
      new RegExp(
        `^error: ${out}(: in use by another training run \\(pid \\d+\\)| already holds a run|: taken by another run)`,
      ),
    );
    expect(metricLines(out)).toHaveLength(1);
    expect(existsSync(join(out, '.lock'))).toBe(false); // given back at the end
  });

  test('two default runs started in the same second get different folders', async () => {
    const cwd = tmp();
    const [a, b] = await Promise.all([
      startCli('train', quick, { cwd }).result,
      startCli('train', quick, { cwd }).result,
    ]);
    expect([a.status, b.status]).toEqual([0, 0]);
    const folders = readdirSync(join(cwd, 'runs'));
    expect(folders).toHaveLength(2);
    for (const f of folders) expect(metricLines(join(cwd, 'runs', f))).toHaveLength(1);
  });

  test('default names that collide get a suffix (the same base twice in one process)', () => {
    const base = join(tmp(), 'runs', '20261126-120000');
    const first = createUniqueRunFolder(base, quickConfig());
    const second = createUniqueRunFolder(base, quickConfig());
    expect([first.dir, second.dir]).toEqual([base, `${base}-2`]);
    for (const f of [first, second]) expect(readdirSync(f.dir).sort()).toEqual(['.lock', 'run.json']);
    first.release();
    second.release();
    expect(existsSync(join(base, '.lock'))).toBe(false);
  });

  test('a live lock refuses --resume; a stale one (its process is gone) is taken over', () => {
    const out = join(tmp(), 'run');
    expect(runCli('train', [...quick, '--out', out]).status).toBe(0);
    writeFileSync(join(out, '.lock'), `${process.pid}\n`); // this test process: alive
    const refused = runCli('train', ['--out', out, '--resume', '--epochs', '2']);
    expect(refused.status).toBe(1);
    expect(lines(refused.stderr)).toEqual([
      `error: ${out}: in use by another training run (pid ${process.pid}); ` +
        `wait for it to end, or stop it, then --resume`,
    ]);
    writeFileSync(join(out, '.lock'), '2147483646\n'); // no such process
    const resumed = runCli('train', ['--out', out, '--resume', '--epochs', '2', '--threads', '1']);
    expect(resumed.status).toBe(0);
    expect(metricLines(out)).toHaveLength(2);
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });
});

describe('never writes into a folder that is not a run', () => {
  test('--out into a non-empty folder that is not a run is refused and left as it was', () => {
    const out = tmp();
    writeFileSync(join(out, 'curves.png'), 'my own file');
    const r = runCli('train', [...quick, '--out', out]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${out}: not empty and not a run folder (it holds curves.png); choose a new or empty --out`,
    ]);
    expect(readdirSync(out)).toEqual(['curves.png']);
    expect(readFileSync(join(out, 'curves.png'), 'utf8')).toBe('my own file');
  });

  test('--out that is a file, or under a file', () => {
    const dir = tmp();
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'x');
    const onFile = runCli('train', [...quick, '--out', file]);
    expect(onFile.status).toBe(1);
    expect(lines(onFile.stderr)).toEqual([`error: ${file}: is a file, not a folder; choose another --out`]);
    const under = runCli('train', [...quick, '--out', join(file, 'run')]);
    expect(under.status).toBe(1);
    expect(lines(under.stderr)).toEqual([
      `error: ${join(file, 'run')}: cannot be made, ${file} is a file, not a folder; choose another --out`,
    ]);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  test('--resume of a folder that is not a run, or does not exist', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'data.bin'), 'x');
    const notRun = runCli('train', ['--out', dir, '--resume']);
    expect(notRun.status).toBe(1);
    expect(lines(notRun.stderr)).toEqual([
      `error: ${dir}: not a run folder (no run.json, metrics or checkpoints); nothing to resume`,
    ]);
    const missing = runCli('train', ['--out', join(dir, 'nope'), '--resume']);
    expect(lines(missing.stderr)).toEqual([`error: ${join(dir, 'nope')}: no such run folder to resume`]);
  });

  test('a run killed before its first checkpoint is continued by --resume from the beginning', () => {
    const out = join(tmp(), 'run');
    mkdirSync(out);
    writeFileSync(
      join(out, 'run.json'),
      JSON.stringify({ format: 1, producer: 'onnx-mnist-train', created: 'x', config: quickConfig() }),
    );
    writeFileSync(join(out, '.lock'), '2147483646\n');
    mkdirSync(join(out, 'checkpoints', 'epoch-001.partial-2147483646'), { recursive: true }); // a crash's leftover
    const r = runCli('train', ['--out', out, '--resume']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`no checkpoint yet in ${out}: starting its run from the beginning`);
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['epoch-001']); // the stale partial folder is gone
  });
});

describe('settings that cannot work are refused at once, in one line', () => {
  const cases: [string, string[], string][] = [
    [
      'a batch larger than the training set',
      ['--batch-size', '1000000'],
      'error: --batch-size 1000000: larger than the training set (60000 images)',
    ],
    [
      'a batch larger than --train-limit',
      ['--train-limit', '100', '--batch-size', '128'],
      'error: --batch-size 128: larger than the training set (100 images)',
    ],
    ['far more threads than cores', ['--threads', '999'], 'error: --threads 999: more than 4 per core'],
    [
      'a seed that would wrap',
      ['--seed', '4294967296'],
      "error: option '--seed <n>' argument '4294967296' is invalid. must be at most 4294967295 (2^32 - 1).",
    ],
  ];
  for (const [what, args, message] of cases) {
    test(what, () => {
      const out = join(tmp(), 'run');
      const r = runCli('train', [...args, '--out', out], { timeout: 30_000 });
      expect(r.status).toBe(1); // null would mean it hung until the timeout
      expect(lines(r.stderr)).toHaveLength(1);
      expect(lines(r.stderr)[0].startsWith(message)).toBe(true);
      expect(existsSync(out)).toBe(false);
    });
  }
});
