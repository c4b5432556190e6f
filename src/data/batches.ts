/** Turning a split into normalised float batches: epoch order, augmentation, labels. */
import { type AugmentOptions, affineInto } from './augment.js';
import type { Split } from './dataset.js';
import { NORMALIZED_BYTE } from './normalize.js';
import { Rng } from '../util/rng.js';

const SHUFFLE_STREAM = 0x73687566; // 'shuf'
const AUGMENT_STREAM = 0x61756720; // 'aug '

/** Indices of the first `count` examples, shuffled from (seed, epoch) if asked. */
export function epochOrder(count: number, seed: number, epoch: number, shuffle: boolean): Uint32Array {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  if (shuffle) new Rng(seed, SHUFFLE_STREAM, epoch).shuffle(order);
  return order;
}

/** Writes images `order[start .. start+count)` (or start.. in file order) normalised into `out`. */
export function fillImages(split: Split, start: number, count: number, out: Float32Array, order?: ArrayLike<number>): void {
  const size = split.rows * split.cols;
  for (let b = 0; b < count; b++) {
    const src = (order ? order[start + b] : start + b) * size;
    const dst = b * size;
    for (let p = 0; p < size; p++) out[dst + p] = NORMALIZED_BYTE[split.images[src + p]];
  }
}

/** As `fillImages`, each image randomly rotated and shifted with draws from (seed, step). */
export function fillAugmentedImages(
  split: Split,
  order: ArrayLike<number>,
  start: number,
  count: number,
  out: Float32Array,
  augment: AugmentOptions,
  seed: number,
  step: number,
): void {
  const rng = new Rng(seed, AUGMENT_STREAM, step);
  const size = split.rows * split.cols;
  for (let b = 0; b < count; b++) {
    const degrees = rng.range(-augment.rotate, augment.rotate);
    const dx = rng.int(2 * augment.shift + 1) - augment.shift;
    const dy = rng.int(2 * augment.shift + 1) - augment.shift;
    affineInto(split.images, order[start + b] * size, split.rows, split.cols, out, b * size, { degrees, dx, dy });
  }
}

/** Labels `order[start .. start+count)` as int64, the type the loss takes. */
export function fillLabels(split: Split, start: number, count: number, out: BigInt64Array, order?: ArrayLike<number>): void {
  for (let b = 0; b < count; b++) out[b] = BigInt(split.labels[order ? order[start + b] : start + b]);
}
