/** Turning a split into normalised float batches: epoch order, augmentation, labels. */
import { type AugmentOptions, affineInto, flipRows } from './augment.js';
import { exampleSize, type Split } from './dataset.js';
import type { Normalizer } from './normalize.js';
import { Rng } from '../util/rng.js';

const SHUFFLE_STREAM = 0x73687566; // 'shuf'
const AUGMENT_STREAM = 0x61756720; // 'aug '

/** Indices of the first `count` examples, shuffled from (seed, epoch) if asked. */
export function epochOrder(count: number, seed: number, epoch: number, shuffle: boolean): Uint32Array {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  if (shuffle) new Rng(seed, SHUFFLE_STREAM, epoch).shuffle(order);
  return order;
}

/** Writes examples `order[start .. start+count)` (or start.. in file order) normalised into `out`. */
export function fillImages(
  split: Split,
  start: number,
  count: number,
  out: Float32Array,
  normalizer: Normalizer,
  order?: ArrayLike<number>,
): void {
  const size = exampleSize(split);
  for (let b = 0; b < count; b++)
    normalizer.example(split.images, (order ? order[start + b] : start + b) * size, out, b * size);
}

/** As `fillImages`, each example randomly rotated, shifted (and flipped, if asked) with draws from (seed, step). */
export function fillAugmentedImages(
  split: Split,
  order: ArrayLike<number>,
  start: number,
  count: number,
  out: Float32Array,
  normalizer: Normalizer,
  augment: AugmentOptions,
  seed: number,
  step: number,
): void {
  const rng = new Rng(seed, AUGMENT_STREAM, step);
  const size = exampleSize(split);
  for (let b = 0; b < count; b++) {
    const degrees = rng.range(-augment.rotate, augment.rotate);
    const dx = rng.int(2 * augment.shift + 1) - augment.shift;
    const dy = rng.int(2 * augment.shift + 1) - augment.shift;
    affineInto(split.images, order[start + b] * size, split.shape, out, b * size, normalizer, { degrees, dx, dy });
    // drawn after the others: digits' draws stay as they were
    if (augment.flip && rng.int(2) === 1) flipRows(out, b * size, split.shape);
  }
}

/**
 * Labels `order[start .. start+count)` (or start.. in file order): class indices as int64, the
 * type the classification losses take, or `width` floats each for the regression losses.
 */
export function fillLabels(
  split: Split,
  start: number,
  count: number,
  out: BigInt64Array | Float32Array,
  order?: ArrayLike<number>,
): void {
  const index = (b: number) => (order ? order[start + b] : start + b);
  if (out instanceof BigInt64Array) {
    for (let b = 0; b < count; b++) out[b] = BigInt(split.labels[index(b)]);
    return;
  }
  const width = out.length / count;
  for (let b = 0; b < count; b++) out.set(split.labels.subarray(index(b) * width, (index(b) + 1) * width), b * width);
}
