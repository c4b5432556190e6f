import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { bundledMnistDir } from '../../src/data/mnist.node.js';
import { lines, runCli } from '../helpers/cli.js';

const quick = ['--train-limit', '256', '--test-limit', '200', '--epochs', '1', '--threads', '1', '--batch-size', '64'];

describe('npm run train', () => {
  test('a short run prints the seed-style test line and writes a run folder', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cli-')), 'run');
    const r = runCli('train', [...quick, '--out', out]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Epoch 1\/1$/m);
    expect(r.stdout).toMatch(/^Test set: Average loss: \d+\.\d{4}, Accuracy: \d+\/200 \(\d+\.\d{2}%\)$/m);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);

    // the same folder again without --resume is refused; with it (and more epochs) it continues
    const again = runCli('train', [...quick, '--out', out]);
    expect(again.status).toBe(1);
    expect(lines(again.stderr)).toEqual([
      `error: ${out} already holds a run; pass --resume to continue it or choose another --out`,
    ]);
    const resumed = runCli('train', [...quick.slice(0, 4), '--epochs', '2', '--out', out, '--resume']);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toMatch(/resuming from .*epoch-001/);
    expect(resumed.stdout).toMatch(/^Epoch 2\/2$/m);
    expect(resumed.stdout).not.toMatch(/^Epoch 1\/2$/m);
  });

  const badFlags: [string[], RegExp][] = [
    [['--epochs', '0'], /^error: option '--epochs <n>' argument '0' is invalid\. must be a positive integer\.$/],
    [['--lr', 'fast'], /^error: option '--lr <x>' argument 'fast' is invalid\. not a number\.$/],
    [['--dropout', '1.5'], /^error: option '--dropout <p>' argument '1\.5' is invalid\. must be in \[0, 1\)\.$/],
    [['--ema-decay', '1'], /^error: option '--ema-decay <d>' argument '1' is invalid\. must be in \(0, 1\)\.$/],
    [
      ['--schedule', 'cosine'],
      /^error: option '--schedule <name>' argument 'cosine' is invalid\. Allowed choices are step, onecycle, constant\.$/,
    ],
    [['--bogus'], /^error: unknown option '--bogus'$/],
    [['--resume'], /^error: --resume needs --out <dir>, the run folder to continue$/],
  ];
  for (const [args, message] of badFlags) {
    test(`bad flags: ${args.join(' ')}`, () => {
      const r = runCli('train', args);
      expect(r.status).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(lines(r.stderr)[0]).toMatch(message);
    });
  }

  test('--device cuda without the CUDA provider says how to install it', () => {
    const r = runCli('train', [
      ...quick,
      '--device',
      'cuda',
      '--out',
      join(mkdtempSync(join(tmpdir(), 'cli-')), 'run'),
    ]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      "error: --device cuda: onnxruntime-node's CUDA provider is not installed (CUDA 12 and cuDNN 9 are needed too). " +
        'Install it with: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js',
    ]);
  });

  test('--data-dir with a truncated file names the file and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-data-'));
    for (const f of [
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ]) {
      copyFileSync(join(bundledMnistDir(), f), join(dir, f));
    }
    const file = join(dir, 'train-labels-idx1-ubyte');
    writeFileSync(file, readFileSync(file).subarray(0, 5000));
    const r = runCli('train', [...quick, '--data-dir', dir, '--out', join(dir, 'run')]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${file}: truncated: header says 60000 = 60000 bytes of data, the file has 4992`,
    ]);
  });
});
