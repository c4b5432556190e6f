/**
 * Data files the network cannot use: images that are not 28x28, and empty splits. `train`
 * refuses them with one line naming the file before it writes anything.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lines, runCli } from '../helpers/cli.js';
import { type SplitSpec, writeDataDir } from './export-fixtures.js';

const quick = ['--train-limit', '64', '--test-limit', '64', '--epochs', '1', '--batch-size', '64', '--threads', '1'];

function train(
  trainSplit: SplitSpec,
  testSplit: SplitSpec,
): { dir: string; out: string; status: number | null; errors: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'data-shape-'));
  const dir = writeDataDir(join(root, 'data'), trainSplit, testSplit);
  const out = join(root, 'run');
  const r = runCli('train', ['--data-dir', dir, ...quick, '--out', out]);
  return { dir, out, status: r.status, errors: lines(r.stderr) };
}

describe('npm run train refuses images the network cannot take', () => {
  for (const [rows, cols] of [
    [32, 32],
    [20, 20],
    [1, 1],
    [28, 27],
  ]) {
    test(`${rows}x${cols} training and test images: one line naming the training file, exit 1, no checkpoint`, () => {
      const r = train({ count: 64, rows, cols }, { count: 64, rows, cols });
      expect(r.errors).toEqual([
        `error: ${join(r.dir, 'train-images-idx3-ubyte')}: images are ${rows}x${cols}; the network needs 28x28`,
      ]);
      expect(r.status).toBe(1);
      expect(existsSync(join(r.out, 'checkpoints'))).toBe(false);
    });
  }

  test('32x32 test images (28x28 training images): one line naming the test file', () => {
    const r = train({ count: 64 }, { count: 64, rows: 32, cols: 32 });
    expect(r.errors).toEqual([
      `error: ${join(r.dir, 't10k-images-idx3-ubyte')}: images are 32x32; the network needs 28x28`,
    ]);
    expect(r.status).toBe(1);
    expect(existsSync(join(r.out, 'checkpoints'))).toBe(false);
  });
});

describe('npm run train refuses empty splits', () => {
  test('a training set with 0 images: one line naming the file, exit 1, no checkpoint', () => {
    const r = train({ count: 0 }, { count: 64 });
    expect(r.errors).toEqual([`error: ${join(r.dir, 'train-images-idx3-ubyte')}: holds no images (the header says 0)`]);
    expect(r.status).toBe(1);
    expect(existsSync(join(r.out, 'checkpoints'))).toBe(false);
  });

  test('a test set with 0 images: one line naming the file, exit 1, no checkpoint', () => {
    const r = train({ count: 64 }, { count: 0 });
    expect(r.errors).toEqual([`error: ${join(r.dir, 't10k-images-idx3-ubyte')}: holds no images (the header says 0)`]);
    expect(r.status).toBe(1);
    expect(existsSync(join(r.out, 'checkpoints'))).toBe(false);
  });
});
