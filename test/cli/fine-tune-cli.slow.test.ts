/**
 * Fine-tuning from the command line: `--train-only` and `--freeze` train part of a network PyTorch
 * exported (frozen tensors untouched, no optimizer state for them, resumable), `--init` starts
 * from a state dict saved elsewhere, and their mistakes are one line each with no run folder. And
 * npm's own flags: `npm run train --epochs=1` (no `--`) is refused, not run with the defaults.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { importOnnx } from '../../src/model/onnx-import.js';
import { readSafetensors } from '../../src/util/safetensors.node.js';
import { lines, ROOT, runCli } from '../helpers/cli.js';
import { entry } from '../helpers/must.js';

const MODEL = join(ROOT, 'examples/node-transfer/transfer-cnn.onnx');
const quick = [
  '--train-limit',
  '256',
  '--test-limit',
  '100',
  '--epochs',
  '1',
  '--threads',
  '1',
  '--batch-size',
  '64',
  '--model',
  MODEL,
];
const folder = () => join(mkdtempSync(join(tmpdir(), 'fine-tune-cli-')), 'run');
const tensors = (file: string) => readSafetensors(file).tensors;
const initial = importOnnx(new Uint8Array(readFileSync(MODEL)), 'transfer-cnn').net.initialState(1);

describe('--train-only and --freeze', () => {
  test('--train-only classifier trains the dense head alone: the convs are bit for bit the file’s, and have no optimizer state', () => {
    const out = folder();
    const r = runCli('train', [...quick, '--train-only', 'classifier', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const checkpoint = join(out, 'checkpoints/epoch-001');
    const model = tensors(join(checkpoint, 'model.safetensors'));
    for (const name of ['features.0.weight', 'features.0.bias', 'features.2.weight', 'features.2.bias']) {
      expect(entry(model, name).data, name).toEqual(entry(initial, name).data);
    }
    expect(entry(model, 'classifier.4.weight').data).not.toEqual(entry(initial, 'classifier.4.weight').data);
    expect([...tensors(join(checkpoint, 'optimizer.safetensors')).keys()].sort()).toEqual(
      ['classifier.1.bias', 'classifier.1.weight', 'classifier.4.bias', 'classifier.4.weight'].map(
        (p) => `${p}.momentum_buffer`,
      ),
    );
    // the run resumes with its selection
    const resumed = runCli('train', [...quick.slice(0, 4), '--epochs', '2', '--out', out, '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    const resumedState = tensors(join(out, 'checkpoints/epoch-002/model.safetensors'));
    expect(entry(resumedState, 'features.0.weight').data).toEqual(entry(initial, 'features.0.weight').data);
  });

  test('--freeze features.* freezes those and trains the rest', () => {
    const out = folder();
    const r = runCli('train', [...quick, '--freeze', 'features.*', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const optimizer = tensors(join(out, 'checkpoints/epoch-001/optimizer.safetensors'));
    expect([...optimizer.keys()].some((k) => k.startsWith('features.'))).toBe(false);
    expect(optimizer.size).toBe(4);
  });

  test.each([
    [
      ['--train-only', 'head'],
      `error: --train-only 'head' matches no parameter (the model has 8: features.0.weight, ` +
        `features.0.bias, features.2.weight, features.2.bias, classifier.1.weight, classifier.1.bias, ...)`,
    ],
    [['--freeze', '**'], 'error: the selection leaves no parameter to train'],
    [
      ['--train-only', 'fc,'],
      "error: option '--train-only <patterns>' argument 'fc,' is invalid. " +
        'expected name patterns separated by commas, none empty.',
    ],
  ])('%j is one line, and no run folder is made', (args, message) => {
    const out = folder();
    const r = runCli('train', [...quick, ...args, '--out', out]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([message]);
    expect(existsSync(out)).toBe(false);
  });
});

describe('--init', () => {
  test('a run starts from the weights given: with a tiny rate, one step leaves them where they were', () => {
    const first = folder();
    expect(runCli('train', [...quick, '--out', first]).status).toBe(0);
    const weights = join(first, 'checkpoints/epoch-001/model.safetensors');
    const out = folder();
    const r = runCli('train', [
      ...quick,
      '--init',
      weights,
      '--lr',
      '1e-9',
      '--max-steps',
      '1',
      '--dropout',
      '0',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const start = tensors(weights);
    for (const [name, t] of tensors(join(out, 'checkpoints/epoch-001-batch-1/model.safetensors'))) {
      if (name.endsWith('num_batches_tracked')) continue;
      const given = entry(start, name).data as Float32Array;
      const worst = (t.data as Float32Array).reduce((m, v, i) => Math.max(m, Math.abs(v - given[i])), 0);
      expect(worst, name).toBeLessThan(1e-6);
    }
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).config.init.file).toBe(weights);
  });

  test('weights of another network are refused in one line naming the file and the first problems; --init with --resume too', () => {
    const seed = folder();
    expect(
      runCli('train', [
        '--train-limit',
        '128',
        '--test-limit',
        '100',
        '--epochs',
        '1',
        '--threads',
        '1',
        '--batch-size',
        '64',
        '--out',
        seed,
      ]).status,
    ).toBe(0);
    const weights = join(seed, 'checkpoints/epoch-001/model.safetensors');
    const out = folder();
    const r = runCli('train', [...quick, '--init', weights, '--out', out]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${weights}: the weights do not fit the model: missing 'features.0.weight'; ` +
        `missing 'features.0.bias'; missing 'features.2.weight' (48 problems in all)`,
    ]);
    expect(existsSync(out)).toBe(false);
    const resumed = runCli('train', ['--out', seed, '--resume', '--init', weights]);
    expect(lines(resumed.stderr)).toEqual([
      'error: --init sets the weights a run starts from; a resumed run continues from its own (drop --init)',
    ]);
  });
});

test('npm run train --epochs=1 (no --) is refused in one line that shows the --, not run with the defaults', () => {
  const r = spawnSync('npm', ['run', '-s', 'train', '--epochs=1'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.status).toBe(1);
  expect(lines(r.stderr)).toEqual([
    'error: npm took --epochs as its own setting: ' +
      'npm run passes flags to a script only after --, as in npm run train -- --epochs 1',
  ]);
  expect(r.stdout).not.toMatch(/Epoch/);
  const summary = spawnSync('npm', ['run', '-s', 'summary', '--model', 'net.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(lines(summary.stderr)).toEqual([
    'error: npm took --model as its own setting: ' +
      'npm run passes flags to a script only after --, as in npm run summary -- --model <value>',
  ]);
});
