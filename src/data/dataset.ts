/**
 * A data set in memory: what training and evaluation read, wherever it was loaded (Node or a
 * page, from MNIST's files, a folder of images, or the caller's own arrays).
 */

/** Class indices, one per example. */
export type ClassLabels = Uint8Array | Uint16Array | Uint32Array | Int32Array;

export interface Split {
  /**
   * `count` examples of `shape`, row-major (N x C x H x W): bytes (pixels 0-255, scaled to
   * [0,1] before normalisation) or floats (taken as they are before normalisation).
   */
  images: Uint8Array | Float32Array;
  /**
   * For classification losses, one class index per example; for the regression losses (mse,
   * l1, bce-with-logits), `count` x K floats, K the model's outputs per example.
   */
  labels: ClassLabels | Float32Array;
  count: number;
  /** One example's shape, [C, H, W]. */
  shape: readonly number[];
  /** The classes' names by index, when the data has them. */
  classNames?: readonly string[];
}

/** A split of pixels and class indices, as image files give (MNIST's IDX files, image folders). */
export interface ByteSplit extends Split {
  images: Uint8Array;
  labels: Uint8Array;
}

export interface Dataset<S extends Split = Split> {
  dir: string;
  train: S;
  test: S;
}

/** Values in one example. */
export const exampleSize = (split: Pick<Split, 'shape'>): number => split.shape.reduce((a, b) => a * b, 1);

/** MNIST's classes: the digits 0-9. */
export const MNIST_CLASSES = 10;
