/**
 * A test split drawn from the training examples, for data that has none of its own: a seeded
 * share held out. Pure: `--data` and the training page hold out the same examples for a seed.
 */
import { Rng } from '../util/rng.js';
import { exampleSize, type Split } from './dataset.js';
import { DataError } from './idx-format.js';

const SALT = 0x76616c; // 'val'

/** The examples of `split` at `indices`, in that order. */
export function subset<S extends Split>(split: S, indices: ArrayLike<number>): S {
  const size = exampleSize(split);
  const width = split.labels.length / split.count;
  const images = new (split.images.constructor as new (n: number) => S['images'])(indices.length * size);
  const labels = new (split.labels.constructor as new (n: number) => S['labels'])(indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    images.set(split.images.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
    labels.set(split.labels.subarray(indices[i] * width, (indices[i] + 1) * width), i * width);
  }
  return { ...split, images, labels, count: indices.length };
}

/** A seeded share of `split` held out: the rest to train on, the share to test on. */
export function holdOut<S extends Split>(split: S, share: number, seed: number): { train: S; test: S } {
  if (!(share > 0 && share < 1))
    throw new DataError('--val-split', `${share}: the share held out must be between 0 and 1`);
  const order = Uint32Array.from({ length: split.count }, (_, i) => i);
  new Rng(seed, SALT).shuffle(order);
  const held = Math.max(1, Math.round(share * split.count));
  if (held >= split.count)
    throw new DataError('--val-split', `holding out ${held} of ${split.count} examples leaves none to train on`);
  return { train: subset(split, order.subarray(held).sort()), test: subset(split, order.subarray(0, held).sort()) };
}
