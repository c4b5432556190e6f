import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, test } from 'vitest';
import { DataError } from '../../src/data/idx-format.js';
import { bundledMnistDir, loadDataset, loadSplit } from '../../src/data/mnist.node.js';
import { messageOf } from '../../src/util/errors.js';
import { idx } from '../faults/export-fixtures.js';

// Published MNIST class counts.
const TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function histogram(labels: Uint8Array): number[] {
  const h = new Array(10).fill(0);
  for (const l of labels) h[l]++;
  return h;
}

describe('the bundled MNIST', () => {
  test('60,000 train and 10,000 test 28x28 images with the published label histograms', () => {
    const data = loadDataset();
    expect(data.train.count).toBe(60_000);
    expect(data.test.count).toBe(10_000);
    expect(data.train.shape).toEqual([1, 28, 28]);
    expect(data.train.images.length).toBe(60_000 * 784);
    expect(histogram(data.train.labels)).toEqual(TRAIN_HISTOGRAM);
    expect(histogram(data.test.labels)).toEqual(TEST_HISTOGRAM);
  });
});

describe('corrupted copies each give a one-line error naming the file', () => {
  const src = bundledMnistDir();
  let dir: string;
  const testImages = () => join(dir, 't10k-images-idx3-ubyte');
  const testLabels = () => join(dir, 't10k-labels-idx1-ubyte');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'idx-'));
  });
  const fresh = () => {
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) copyFileSync(join(src, f), join(dir, f));
  };
  const expectError = (file: string, pattern: RegExp) => {
    let error: unknown;
    try {
      loadSplit(dir, 'test');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    const message = messageOf(error);
    expect(message.startsWith(`${file}: `)).toBe(true);
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
  };

  test('truncated image file', () => {
    fresh();
    const bytes = readFileSync(testImages());
    writeFileSync(testImages(), bytes.subarray(0, bytes.length - 1000));
    expectError(testImages(), /truncated: header says 10000x28x28 = 7840000 bytes of data, the file has 7839000/);
  });

  test('truncated header', () => {
    fresh();
    writeFileSync(testLabels(), Buffer.from([0, 0, 8]));
    expectError(testLabels(), /truncated: 3 bytes, too short for an IDX header/);
  });

  test('wrong magic number (labels file where images belong)', () => {
    fresh();
    copyFileSync(join(src, 't10k-labels-idx1-ubyte'), testImages());
    expectError(testImages(), /wrong magic number 0x00000801, expected 0x00000803/);
  });

  test('a count that disagrees with the file size', () => {
    fresh();
    const bytes = Buffer.from(readFileSync(testLabels()));
    bytes.writeUInt32BE(10_001, 4);
    writeFileSync(testLabels(), bytes);
    expectError(testLabels(), /truncated: header says 10001 = 10001 bytes of data, the file has 10000/);
  });

  test('image and label counts that disagree', () => {
    fresh();
    const bytes = Buffer.from(readFileSync(testLabels()));
    bytes.writeUInt32BE(9_999, 4);
    writeFileSync(testLabels(), bytes.subarray(0, bytes.length - 1));
    expectError(testLabels(), /has 9999 labels but .* has 10000 images/);
  });

  test('a label outside 0-9', () => {
    fresh();
    const bytes = Buffer.from(readFileSync(testLabels()));
    bytes[8 + 1234] = 12;
    writeFileSync(testLabels(), bytes);
    expectError(testLabels(), /label 12 at index 1234 is outside 0-9/);
  });

  test('images that are not 28x28', () => {
    for (const [rows, cols] of [
      [32, 32],
      [20, 20],
      [1, 1],
    ]) {
      writeFileSync(testImages(), idx([10, rows, cols], new Uint8Array(10 * rows * cols)));
      writeFileSync(testLabels(), idx([10], new Uint8Array(10)));
      expectError(testImages(), new RegExp(`: images are ${rows}x${cols}; the network needs 28x28$`));
    }
  });

  test('an empty split', () => {
    writeFileSync(testImages(), idx([0, 28, 28], new Uint8Array(0)));
    writeFileSync(testLabels(), idx([0], new Uint8Array(0)));
    expectError(testImages(), /: holds no images \(the header says 0\)$/);
  });

  test('a missing file', () => {
    fresh();
    const empty = mkdtempSync(join(tmpdir(), 'idx-empty-'));
    expect(() => loadSplit(empty, 'test')).toThrow(/t10k-images-idx3-ubyte: file not found/);
  });

  test('gzipped files load; corrupt gzip is reported', () => {
    const gz = mkdtempSync(join(tmpdir(), 'idx-gz-'));
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(join(gz, `${f}.gz`), gzipSync(readFileSync(join(src, f))));
    }
    const split = loadSplit(gz, 'test');
    expect(split.count).toBe(10_000);
    expect(histogram(split.labels)).toEqual(TEST_HISTOGRAM);
    const bad = join(gz, 't10k-labels-idx1-ubyte.gz');
    writeFileSync(bad, readFileSync(bad).subarray(0, 100));
    expect(() => loadSplit(gz, 'test')).toThrow(DataError);
    expect(() => loadSplit(gz, 'test')).toThrow(new RegExp(`^${bad}: corrupt gzip data`));
  });
});
