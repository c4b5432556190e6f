/**
 * What a resumed run reads from its files passes the checks its flags pass: threads, batch
 * size and position are limited wherever they come from; a schema-valid edit of trainer.json
 * that changes the recipe (another optimizer, nesterov) or an optimizer file missing a tensor
 * is skipped with a warning like any damaged checkpoint, and the next older good one resumed.
 * No stack trace, no hang.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/util/safetensors.node.js';
import { lines, runCli } from '../helpers/cli.js';
import { QUICK_TRAIN, trainedRunCopies } from '../helpers/runs.js';
import { entry, must } from '../helpers/must.js';

const checkpoint = (run: string, name: string) => join(run, 'checkpoints', name);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** The fields of run.json and trainer.json these tests edit. */
interface RunJson {
  config: { threads?: number; batchSize: number; optimizer: Record<string, unknown> };
  position?: { epoch: number; batch: number; step: number };
  files?: Record<string, string>;
}

function editJson(file: string, edit: (j: RunJson) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8')) as RunJson;
  edit(json);
  writeFileSync(file, JSON.stringify(json, null, 2));
}

/** A run with checkpoints after epochs 1 and 2, copied fresh for each test. */
const twoEpochRun = trainedRunCopies('run-files-', [...QUICK_TRAIN, '--epochs', '2']);
/** A run killed before its first checkpoint: run.json only. */
function startedRun(): string {
  const run = twoEpochRun();
  rmSync(join(run, 'checkpoints'), { recursive: true });
  return run;
}

const resume = (run: string, extra: string[] = []) =>
  runCli('train', ['--out', run, '--resume', '--epochs', '3', ...extra], { timeout: 60_000 });

describe('limits hold for values read from run files', () => {
  test('threads: 999 in the newest trainer.json: one line naming the file, at once (it hung)', () => {
    const run = twoEpochRun();
    const file = join(checkpoint(run, 'epoch-002'), 'trainer.json');
    editJson(file, (j) => (j.config.threads = 999));
    const r = resume(run);
    expect(r.status).toBe(1); // null: killed by the timeout
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^error: ${file}: ` +
            `threads 999 \\(pass --threads to override\\): more than 4 per core \\(\\d+ cores here, at most \\d+\\)$`,
        ),
      ),
    ]);
  });

  test('threads: 999 in run.json of a run with no checkpoint yet: one line naming run.json; --threads overrides it', () => {
    const run = startedRun();
    editJson(join(run, 'run.json'), (j) => (j.config.threads = 999));
    const r = resume(run);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^error: ${join(run, 'run.json')}: threads 999 \\(pass --threads to override\\): more than 4 per core`,
        ),
      ),
    ]);
    const fixed = resume(run, ['--threads', '1', '--max-steps', '1']);
    expect(fixed.stderr).toBe('');
    expect(fixed.status).toBe(0);
  });

  test('a batch size larger than the training set in run.json: one line naming run.json', () => {
    const run = startedRun();
    editJson(join(run, 'run.json'), (j) => (j.config.batchSize = 1_000_000));
    const r = resume(run);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${join(run, 'run.json')}: batchSize 1000000: larger than the training set (128 images)`,
    ]);
  });

  test('a position that is not a place in the run: one line naming the file', () => {
    const run = twoEpochRun();
    const file = join(checkpoint(run, 'epoch-002'), 'trainer.json');
    editJson(file, (j) => (j.position = { epoch: 1, batch: 5000, step: 5002 }));
    const r = resume(run);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${file}: position epoch 1, batch 5000, step 5002 is not a place in this run (2 batches per epoch): ` +
        `edited after it was saved`,
    ]);
  });
});

describe('edits that change the recipe, and optimizer files that do not match it, are skipped like damage', () => {
  const cases: [string, (run: string) => void, (run: string) => string][] = [
    [
      'the optimizer kind edited to adam',
      (run) =>
        editJson(
          join(checkpoint(run, 'epoch-002'), 'trainer.json'),
          (j) => (j.config.optimizer = { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }),
        ),
      (run) =>
        `${join(checkpoint(run, 'epoch-002'), 'optimizer.safetensors')}: ` +
        `missing 'conv1.weight.exp_avg', which the recorded optimizer (adam) keeps`,
    ],
    [
      'nesterov switched on',
      (run) =>
        editJson(join(checkpoint(run, 'epoch-002'), 'trainer.json'), (j) => (j.config.optimizer.nesterov = true)),
      (run) =>
        `${join(checkpoint(run, 'epoch-002'), 'trainer.json')}: its recipe differs from ${join(run, 'run.json')} ` +
        `(optimizer.nesterov: false vs true): edited after it was saved`,
    ],
    [
      'an optimizer file missing a tensor (its hash re-recorded)',
      (run) => rewriteOptimizer(run, (tensors) => tensors.delete('conv3.weight.momentum_buffer')),
      (run) =>
        `${join(checkpoint(run, 'epoch-002'), 'optimizer.safetensors')}: ` +
        `missing 'conv3.weight.momentum_buffer', which the recorded optimizer (sgd) keeps`,
    ],
    [
      'an optimizer tensor of the wrong shape (its hash re-recorded)',
      (run) =>
        rewriteOptimizer(run, (tensors) => {
          const t = entry(tensors, 'conv1.weight.momentum_buffer');
          tensors.set('conv1.weight.momentum_buffer', { ...t, shape: [t.data.length] });
        }),
      (run) =>
        `${join(checkpoint(run, 'epoch-002'), 'optimizer.safetensors')}: ` +
        `'conv1.weight.momentum_buffer' has shape [108], its parameter has [12,1,3,3]`,
    ],
  ];
  for (const [what, damage, problem] of cases) {
    test(`${what}: a warning naming the problem, and the older good checkpoint resumed`, () => {
      const run = twoEpochRun();
      damage(run);
      const r = resume(run);
      expect(lines(r.stderr)).toEqual([
        `warning: skipping checkpoint ${checkpoint(run, 'epoch-002')}: ${problem(run)}`,
      ]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`resuming from ${checkpoint(run, 'epoch-001')}`);
    });
  }
});

/** Edits the tensors of the newest optimizer file and, as a buggy older writer would, records the new file's hash. */
function rewriteOptimizer(run: string, edit: (tensors: ReturnType<typeof decodeSafetensors>['tensors']) => void): void {
  const dir = checkpoint(run, 'epoch-002');
  const path = join(dir, 'optimizer.safetensors');
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  edit(tensors);
  const bytes = encodeSafetensors(tensors, metadata);
  writeFileSync(path, bytes);
  editJson(
    join(dir, 'trainer.json'),
    (j) => (must(j.files, 'trainer.json files')['optimizer.safetensors'] = sha256(bytes)),
  );
}
