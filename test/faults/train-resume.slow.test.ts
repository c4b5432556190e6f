/**
 * Resume never drops or changes a thing silently: flags that may change apply from the
 * resume point and are recorded, the others are refused by name; damaged, hand-edited or
 * non-finite checkpoints are never loaded, and never block an older good one.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { EpochMetrics, TrainerState } from '../../src/train/core/config.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/util/safetensors.node.js';
import { lines, runCli } from '../helpers/cli.js';
import { entry, last } from '../helpers/must.js';

const quick = ['--train-limit', '128', '--test-limit', '100', '--threads', '1', '--batch-size', '64'];
const tmp = () => mkdtempSync(join(tmpdir(), 'resume-'));
const checkpoint = (run: string, name: string) => join(run, 'checkpoints', name);
const metrics = (run: string): EpochMetrics[] =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EpochMetrics);
const trainerState = (dir: string): TrainerState =>
  JSON.parse(readFileSync(join(dir, 'trainer.json'), 'utf8')) as TrainerState;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function train(args: string[]) {
  const r = runCli('train', args);
  if (r.status !== 0) throw new Error(`train ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

/** A run with checkpoints after epochs 1 and 2, copied fresh for each test that damages it. */
let pristine: string;
beforeAll(() => {
  pristine = join(tmp(), 'run');
  train([...quick, '--epochs', '2', '--out', pristine]);
});
function twoEpochRun(): string {
  const run = join(tmp(), 'run');
  cpSync(pristine, run, { recursive: true });
  return run;
}

/** Flips bits of the byte `fromEnd` bytes before the end of a file (inside the tensor data). */
function flipBits(file: string, fromEnd: number, mask: number): void {
  const bytes = readFileSync(file);
  bytes[bytes.length - fromEnd] ^= mask;
  writeFileSync(file, bytes);
}

/** Rewrites one tensor of a checkpoint and, like a buggy older writer would, records the new file's hash. */
function rewriteTensor(dir: string, file: string, name: string, edit: (data: Float32Array) => void): void {
  const path = join(dir, file);
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  const t = entry(tensors, name);
  if (t.dtype !== 'F32') throw new Error('expected F32');
  edit(t.data);
  const bytes = encodeSafetensors(tensors, metadata);
  writeFileSync(path, bytes);
  const state = trainerState(dir);
  state.files[file] = sha256(bytes);
  writeFileSync(join(dir, 'trainer.json'), JSON.stringify(state));
}

describe('flags on --resume', () => {
  const refused: [string[], string][] = [
    [
      ['--batch-size', '32'],
      'error: --batch-size 32: a resumed run keeps its recipe (this run has 64); start a new run to change it',
    ],
    [
      ['--train-limit', '256'],
      'error: --train-limit 256: a resumed run keeps its recipe (this run has 128); start a new run to change it',
    ],
    [['--seed', '2'], 'error: --seed 2: a resumed run keeps its recipe (this run has 1); start a new run to change it'],
    [
      ['--schedule', 'onecycle'],
      'error: --schedule onecycle: a resumed run keeps its recipe (this run has step); start a new run to change it',
    ],
    [
      ['--augment', 'none'],
      'error: --augment none: a resumed run keeps its recipe (this run has rotate+shift); start a new run to change it',
    ],
    [
      ['--ema-decay', '0.9'],
      'error: --ema-decay 0.9: a resumed run keeps its recipe (this run has none); start a new run to change it',
    ],
  ];
  for (const [flags, message] of refused) {
    test(`${flags.join(' ')} is refused by name`, () => {
      const r = runCli('train', ['--out', pristine, '--resume', '--epochs', '3', ...flags]);
      expect(r.status).toBe(1);
      expect(lines(r.stderr)).toEqual([message]);
      expect(metrics(pristine)).toHaveLength(2);
    });
  }

  test('--data-dir is refused when it differs from the run', () => {
    const r = runCli('train', ['--out', pristine, '--resume', '--epochs', '3', '--data-dir', tmp()]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)[0]).toMatch(
      /^error: --data-dir \/.*: a resumed run keeps its recipe \(this run has the bundled MNIST\); start a new run to change it$/,
    );
  });

  test('a flag given with the value the run already has is accepted', () => {
    const run = twoEpochRun();
    const r = runCli('train', [
      '--out',
      run,
      '--resume',
      '--epochs',
      '3',
      '--batch-size',
      '64',
      '--seed',
      '1',
      '--threads',
      '1',
    ]);
    expect(r.status).toBe(0);
    expect(metrics(run)).toHaveLength(3);
  });

  test('after a divergence, --resume --lr applies the new rate from the resume point and records it', () => {
    const run = twoEpochRun();
    const diverged = runCli('train', ['--out', run, '--resume', '--epochs', '3', '--lr', '1e12', '--threads', '1']);
    expect(diverged.status).toBe(1);
    expect(lines(diverged.stderr)).toHaveLength(1);
    expect(diverged.stderr).toMatch(
      /^error: (loss became|the training state became non-finite) .*; the last good checkpoint is .*epoch-002\. Try a lower --lr\.$/m,
    );
    const resumed = runCli('train', ['--out', run, '--resume', '--epochs', '3', '--lr', '0.001', '--threads', '1']);
    expect(resumed.status).toBe(0);
    expect(metrics(run).map((m) => m.lr)).toEqual([0.05, 0.05, 0.001]);
    expect(trainerState(checkpoint(run, 'epoch-003')).config.lrChanges).toEqual([{ step: 4, lr: 0.001 }]);
  });

  test('--resume without --epochs keeps the run length and the onecycle schedule; a resume after --max-steps is exact, moving average included', () => {
    const dir = tmp();
    const recipe = [...quick, '--schedule', 'onecycle', '--epochs', '3', '--ema-decay', '0.9'];
    train([...recipe, '--out', join(dir, 'straight')]);
    train([...recipe, '--max-steps', '3', '--out', join(dir, 'stopped')]);
    const resumed = train(['--out', join(dir, 'stopped'), '--resume']);
    expect(resumed.stdout).toMatch(/^Epoch 3\/3$/m);
    expect(resumed.stdout).not.toMatch(/\/15$/m);
    for (const file of ['model.safetensors', 'optimizer.safetensors', 'average.safetensors']) {
      const a = readFileSync(join(checkpoint(join(dir, 'straight'), 'epoch-003'), file));
      const b = readFileSync(join(checkpoint(join(dir, 'stopped'), 'epoch-003'), file));
      expect(sha256(b), file).toBe(sha256(a));
    }
    const lrs = (run: string) => last(metrics(run)).lr;
    expect(lrs(join(dir, 'stopped'))).toBe(lrs(join(dir, 'straight')));
    const longer = runCli('train', ['--out', join(dir, 'stopped'), '--resume', '--epochs', '5']);
    expect(lines(longer.stderr)).toEqual([
      "error: --epochs 5: a onecycle schedule spans the run's 3 epochs and cannot change on resume",
    ]);
    const faster = runCli('train', ['--out', join(dir, 'stopped'), '--resume', '--lr', '0.1']);
    expect(lines(faster.stderr)).toEqual([
      'error: --lr 0.1: a onecycle schedule is fixed at the start of the run; start a new run to change it',
    ]);
  });
});

test('a run killed after its last checkpoint but before metrics.jsonl: the resume rewrites it from the checkpoint', () => {
  const run = twoEpochRun();
  const whole = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
  writeFileSync(join(run, 'metrics.jsonl'), `${whole.split('\n')[0]}\n`); // epoch 1's line only, as the kill left it
  const r = train(['--out', run, '--resume']);
  expect(r.stdout).toMatch(/already trained its 2 epochs/);
  expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).toBe(whole);
});

describe('checkpoints that must not load', () => {
  test('flipped bytes in the newest weights: it is skipped with a warning, the older good one is resumed', () => {
    const run = twoEpochRun();
    const file = join(checkpoint(run, 'epoch-002'), 'model.safetensors');
    flipBits(file, 100, 0x40);
    const r = runCli('train', ['--out', run, '--resume', '--epochs', '3', '--threads', '1']);
    expect(r.status).toBe(0);
    expect(lines(r.stderr)).toEqual([
      `warning: skipping checkpoint ${checkpoint(run, 'epoch-002')}: ${file}: ` +
        `its SHA-256 does not match the one in trainer.json: the file was changed or damaged after it was saved`,
    ]);
    expect(r.stdout).toContain(`resuming from ${checkpoint(run, 'epoch-001')}`);
    expect(metrics(run).map((m) => m.epoch)).toEqual([1, 2, 3]);
  });

  test('NaN weights (even with a matching hash): the last good checkpoint is the newest with finite weights', () => {
    const run = twoEpochRun();
    rewriteTensor(checkpoint(run, 'epoch-002'), 'model.safetensors', 'conv2.weight', (d) => (d[5] = NaN));
    const r = runCli('train', ['--out', run, '--resume', '--epochs', '3', '--threads', '1']);
    expect(r.status).toBe(0);
    expect(lines(r.stderr)[0]).toBe(
      `warning: skipping checkpoint ${checkpoint(run, 'epoch-002')}: ` +
        `${join(checkpoint(run, 'epoch-002'), 'model.safetensors')}: 'conv2.weight' holds NaN (element 5); ` +
        `a checkpoint with non-finite values cannot be used`,
    );
    expect(r.stdout).toContain(`resuming from ${checkpoint(run, 'epoch-001')}`);
  });

  test('a bad older checkpoint does not block the newer good one', () => {
    const run = twoEpochRun();
    writeFileSync(join(checkpoint(run, 'epoch-001'), 'trainer.json'), '{ not json');
    const r = runCli('train', ['--out', run, '--resume', '--epochs', '3', '--threads', '1']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`resuming from ${checkpoint(run, 'epoch-002')}`);
  });

  const badRecords: [string, (s: Record<string, unknown>) => unknown, RegExp][] = [
    ['not JSON', () => '{"format": 2, "posit', /trainer\.json: not valid JSON \(/],
    [
      'a nonsense batch size',
      (s) => ({ ...s, config: { ...(s.config as object), batchSize: -5 } }),
      /trainer\.json: invalid checkpoint record: config\.batchSize: /,
    ],
    ['no position', (s) => ({ ...s, position: undefined }), /trainer\.json: invalid checkpoint record: position: /],
    [
      'a hash that is not one',
      (s) => ({ ...s, files: { 'model.safetensors': 'abc' } }),
      /trainer\.json: invalid checkpoint record: files\.model\.safetensors: expected a SHA-256 in hex$/,
    ],
    [
      'the format of an older version',
      (s) => ({ ...s, format: 1, files: undefined }),
      /trainer\.json: written by an older version \(format 1, without file hashes\), so it cannot be checked; train a new run$/,
    ],
    [
      'a string where a number belongs',
      (s) => ({ ...s, config: { ...(s.config as object), lr: 'fast' } }),
      /trainer\.json: invalid checkpoint record: config\.lr: /,
    ],
  ];
  for (const [what, edit, message] of badRecords) {
    test(`trainer.json with ${what}: one line naming the file, on resume and on export`, () => {
      const run = join(tmp(), 'run');
      cpSync(pristine, run, { recursive: true, filter: (src) => !src.includes('epoch-002') });
      const file = join(checkpoint(run, 'epoch-001'), 'trainer.json');
      const edited = edit(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
      writeFileSync(file, typeof edited === 'string' ? edited : JSON.stringify(edited));
      const resumed = runCli('train', ['--out', run, '--resume', '--epochs', '3']);
      expect(resumed.status).toBe(1);
      const [warning, error] = lines(resumed.stderr);
      expect(warning).toMatch(message);
      expect(error).toMatch(new RegExp(`^error: ${run}: no usable checkpoint \\(newest: .*trainer\\.json: `));
      const exported = runCli('export', ['--checkpoint', checkpoint(run, 'epoch-001'), '--out', join(tmp(), 'm.onnx')]);
      expect(exported.status).toBe(1);
      expect(lines(exported.stderr)).toHaveLength(1);
      expect(lines(exported.stderr)[0]).toMatch(new RegExp(`^error: ${file}: `));
    });
  }

  test('export of a run folder passes over a damaged newest checkpoint, saying so, and exports the newest good one', () => {
    const run = twoEpochRun();
    const file = join(checkpoint(run, 'epoch-002'), 'model.safetensors');
    flipBits(file, 4, 0x10);
    const out = join(tmp(), 'm.onnx');
    const r = runCli('export', ['--checkpoint', run, '--out', out]);
    expect(r.status).toBe(0);
    expect(lines(r.stderr)).toEqual([
      `warning: skipping checkpoint ${checkpoint(run, 'epoch-002')}: ${file}: ` +
        `its SHA-256 does not match the one in trainer.json: the file was changed or damaged after it was saved`,
    ]);
    expect(JSON.parse(readFileSync(out.replace(/\.onnx$/, '.json'), 'utf8')).checkpoint).toBe(
      checkpoint(run, 'epoch-001'),
    );
  });

  test('export refuses a checkpoint whose weights were changed after it was saved, naming the file', () => {
    const run = twoEpochRun();
    const file = join(checkpoint(run, 'epoch-002'), 'optimizer.safetensors');
    flipBits(file, 8, 0x01);
    const out = join(tmp(), 'm.onnx');
    const r = runCli('export', ['--checkpoint', checkpoint(run, 'epoch-002'), '--out', out]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${file}: ` +
        `its SHA-256 does not match the one in trainer.json: the file was changed or damaged after it was saved`,
    ]);
    expect(existsSync(out)).toBe(false);
  });
});
