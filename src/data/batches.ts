/** Turning a split into normalised float batches. */
import type { Split } from './mnist.js';
import { NORMALIZED_BYTE } from './normalize.js';

/** Writes images `order[start .. start+count)` (or start.. in file order) normalised into `out`. */
export function fillImages(split: Split, start: number, count: number, out: Float32Array, order?: ArrayLike<number>): void {
  const size = split.rows * split.cols;
  for (let b = 0; b < count; b++) {
    const src = (order ? order[start + b] : start + b) * size;
    const dst = b * size;
    for (let p = 0; p < size; p++) out[dst + p] = NORMALIZED_BYTE[split.images[src + p]];
  }
}

/** Labels `order[start .. start+count)` as int64, the type the loss takes. */
export function fillLabels(split: Split, start: number, count: number, out: BigInt64Array, order?: ArrayLike<number>): void {
  for (let b = 0; b < count; b++) out[b] = BigInt(split.labels[order ? order[start + b] : start + b]);
}
