/**
 * A run deletes only what it can tell it wrote. A folder under a checkpoint's name that holds
 * anything else, a `checkpoints` link into someone else's folder, or a crash leftover with a
 * user's file in it is refused in one line (or left alone), never removed. --out is made where
 * it says, whatever its (legal) length, and a link as --out is refused naming it.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lines, runCli } from '../helpers/cli.js';
import { QUICK_TRAIN, trainedRunCopies } from '../helpers/runs.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ownership-'));
const DEAD = 2_000_000_000; // above any pid_max (at most 2^22)

/** A one-epoch run (checkpoints/epoch-001), copied fresh for each test. */
const oneEpochRun = trainedRunCopies('ownership-', [...QUICK_TRAIN, '--epochs', '1']);
const resume = (run: string) => runCli('train', ['--out', run, '--resume', '--epochs', '2', '--threads', '1']);

describe('folders under a checkpoint name that this program did not write', () => {
  test("a user's folder named like the next checkpoint (notes inside): resume refused at once, in one line; the notes kept", () => {
    const run = oneEpochRun();
    const theirs = join(run, 'checkpoints', 'epoch-002');
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'notes.txt'), 'my notes');
    const r = resume(run);
    expect(lines(r.stderr)).toEqual([
      `error: ${theirs}: holds notes.txt, which this program did not write; move it away, then --resume`,
    ]);
    expect(r.status).toBe(1);
    expect(readFileSync(join(theirs, 'notes.txt'), 'utf8')).toBe('my notes');
  });

  test("a checkpoint of ours with a user's file added: refused the same way, nothing removed", () => {
    const run = oneEpochRun();
    const ours = join(run, 'checkpoints', 'epoch-001');
    writeFileSync(join(ours, 'README.txt'), 'the good one');
    const r = resume(run);
    expect(lines(r.stderr)).toEqual([
      `error: ${ours}: holds README.txt, which this program did not write; move it away, then --resume`,
    ]);
    expect(r.status).toBe(1);
    expect(readdirSync(ours).sort()).toEqual([
      'README.txt',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer.json',
    ]);
  });

  test('a link or a file under a checkpoint name: refused, the link and its target kept', () => {
    const run = oneEpochRun();
    const target = join(tmp(), 'elsewhere');
    mkdirSync(target);
    writeFileSync(join(target, 'data.bin'), 'x');
    const link = join(run, 'checkpoints', 'epoch-002');
    symlinkSync(target, link);
    const r = resume(run);
    expect(lines(r.stderr)).toEqual([
      `error: ${link}: is a symbolic link, which this program did not write; move it away, then --resume`,
    ]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(target)).toEqual(['data.bin']);
  });

  test("checkpoints/ as a link into someone else's folder: refused in one line; their epoch-NNN and .partial folders kept", () => {
    const run = oneEpochRun();
    const foreign = join(tmp(), 'their-checkpoints');
    renameSync(join(run, 'checkpoints'), foreign); // our checkpoint moved there, beside their folders
    for (const name of ['epoch-002', `epoch-003.partial-${DEAD}`]) {
      mkdirSync(join(foreign, name));
      writeFileSync(join(foreign, name, 'notes.txt'), 'theirs');
    }
    mkdirSync(join(foreign, `epoch-004.partial-${DEAD}`)); // empty, as a crash of ours would leave it
    symlinkSync(foreign, join(run, 'checkpoints'));
    const before = readdirSync(foreign).sort();
    const r = resume(run);
    expect(lines(r.stderr)).toEqual([
      `error: ${join(run, 'checkpoints')}: is a symbolic link; ` +
        `a run writes checkpoints only into a folder of its own. Move it away, then --resume`,
    ]);
    expect(r.status).toBe(1);
    expect(readdirSync(foreign).sort()).toEqual(before);
    expect(readFileSync(join(foreign, 'epoch-002', 'notes.txt'), 'utf8')).toBe('theirs');
  });

  test('crash leftovers: a .partial folder of checkpoint files is removed; one with a user file in it is left alone', () => {
    const run = oneEpochRun();
    const ours = join(run, 'checkpoints', `epoch-002.partial-${DEAD}`);
    mkdirSync(ours);
    writeFileSync(join(ours, 'model.safetensors'), 'half');
    const theirs = join(run, 'checkpoints', `epoch-003.partial-${DEAD}`);
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'notes.txt'), 'theirs');
    const r = resume(run);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual([
      'epoch-001',
      'epoch-002',
      `epoch-003.partial-${DEAD}`,
    ]);
    expect(readFileSync(join(theirs, 'notes.txt'), 'utf8')).toBe('theirs');
  });
});

describe('--out', () => {
  test('a symbolic link as --out: refused in one line naming it (not an internal staging folder); nothing made', () => {
    const root = tmp();
    mkdirSync(join(root, 'real'));
    symlinkSync(join(root, 'real'), join(root, 'link'));
    const r = runCli('train', [...QUICK_TRAIN, '--epochs', '1', '--out', join(root, 'link')]);
    expect(lines(r.stderr)).toEqual([
      `error: ${join(root, 'link')}: is a symbolic link; ` +
        `a run folder is made where --out says, so give the folder it points to (${join(root, 'real')}) or a new one`,
    ]);
    expect(r.status).toBe(1);
    expect(readdirSync(root).sort()).toEqual(['link', 'real']);
    expect(readdirSync(join(root, 'real'))).toEqual([]);
  });

  test('a name of 250 bytes, legal on any file system, is trained into', () => {
    const out = join(tmp(), 'r'.repeat(250));
    const r = runCli('train', [...QUICK_TRAIN, '--epochs', '1', '--max-steps', '1', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(out, 'run.json'))).toBe(true);
  });

  test("a killed start's staging folder is removed by the next run beside it; a look-alike with other files is not", () => {
    const root = tmp();
    const stale = join(root, `.new-run-${DEAD}-0123abcd`);
    mkdirSync(stale);
    writeFileSync(join(stale, '.lock'), `${DEAD}\n`);
    writeFileSync(join(stale, 'run.json'), '{}');
    const lookalike = join(root, `.new-run-${DEAD}-89abcdef`);
    mkdirSync(lookalike);
    writeFileSync(join(lookalike, 'notes.txt'), 'theirs');
    const r = runCli('train', [...QUICK_TRAIN, '--epochs', '1', '--max-steps', '1', '--out', join(root, 'run')]);
    expect(r.status).toBe(0);
    expect(readdirSync(root).sort()).toEqual([`.new-run-${DEAD}-89abcdef`, 'run']);
  });
});
