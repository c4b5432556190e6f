/**
 * An MNIST-style split from its two parsed IDX arrays, checked as the network needs it. No
 * Node API here: the Node loader (mnist.node.ts) reads files, a page fetches them, and both hand
 * the bytes to the same checks.
 */
import { type ByteSplit, MNIST_CLASSES } from './dataset.js';
import { DataError, type IdxArray, parseIdx } from './idx-format.js';

/** Rows and columns of an image. */
export type ImageSize = readonly [rows: number, cols: number];

/** MNIST's class names: the digits. */
export const DIGITS: readonly string[] = Object.freeze(Array.from({ length: 10 }, (_, d) => String(d)));

/** What the network takes: MNIST's 28x28. */
export const MNIST_IMAGE_SIZE: ImageSize = [28, 28];

/** The base names of the four IDX files: [images, labels] per split. */
export const MNIST_FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

export type SplitName = keyof typeof MNIST_FILES;

/** One named IDX file's bytes (already gunzipped); the name is for error messages. */
export interface IdxFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * One split, checked to hold at least one image of `size` and a label in 0-9 for each: a split
 * the network cannot use is refused here, naming the file, rather than failing later inside a
 * session.
 */
export function splitFromIdx(imageFile: IdxFile, labelFile: IdxFile, size: ImageSize = MNIST_IMAGE_SIZE): ByteSplit {
  const images: IdxArray = parseIdx(imageFile.bytes, imageFile.name, 3);
  const [count, rows, cols] = images.dims;
  if (rows !== size[0] || cols !== size[1]) {
    throw new DataError(imageFile.name, `images are ${rows}x${cols}; the network needs ${size[0]}x${size[1]}`);
  }
  if (count === 0) throw new DataError(imageFile.name, 'holds no images (the header says 0)');
  const labels = parseIdx(labelFile.bytes, labelFile.name, 1);
  if (labels.dims[0] !== count) {
    throw new DataError(labelFile.name, `has ${labels.dims[0]} labels but ${imageFile.name} has ${count} images`);
  }
  const bad = labels.data.findIndex((l) => l >= MNIST_CLASSES);
  if (bad >= 0) throw new DataError(labelFile.name, `label ${labels.data[bad]} at index ${bad} is outside 0-9`);
  return { images: images.data, labels: labels.data, count, shape: [1, rows, cols], classNames: DIGITS };
}
