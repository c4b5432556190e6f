/**
 * Input normalisation, per channel as torchvision's Normalize: x' = (x - mean[c]) / std[c],
 * with x a pixel scaled to [0,1] (byte data) or the value as given (float data). One mean and
 * std apply to every channel. The exported model does the same inside its graph, so it takes
 * inputs in the data's own units.
 */
import type { Split } from './dataset.js';

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/** The seed's input normalisation: MNIST's pixel mean and standard deviation. */
const MNIST_MEAN = 0.1307;
const MNIST_STD = 0.3081;
export const MNIST_NORMALIZATION: Normalization = Object.freeze({
  mean: Object.freeze([MNIST_MEAN]),
  std: Object.freeze([MNIST_STD]),
});

/** No normalisation: inputs go to the network as they are (bytes scaled to [0,1]). */
export const IDENTITY_NORMALIZATION: Normalization = Object.freeze({
  mean: Object.freeze([0]),
  std: Object.freeze([1]),
});

/** Why `n` cannot normalise `channels` channels, or undefined when it can. */
function normalizationProblem(n: Normalization, channels: number): string | undefined {
  if (n.mean.length !== n.std.length)
    return `normalize has ${n.mean.length} means and ${n.std.length} standard deviations`;
  if (n.mean.length !== 1 && n.mean.length !== channels)
    return `normalize has ${n.mean.length} channels' mean and std; the data has ${channels} channels`;
  if (!n.mean.every(Number.isFinite)) return 'normalize: every mean must be a finite number';
  if (!n.std.every((s) => Number.isFinite(s) && s > 0)) return 'normalize: every std must be a positive number';
  return undefined;
}

/** Channel c's mean and std (one pair serves every channel). */
export const channelStats = (n: Normalization, c: number): [mean: number, std: number] =>
  n.mean.length === 1 ? [n.mean[0], n.std[0]] : [n.mean[c], n.std[c]];

/**
 * Writes normalised examples: `value(c, x)` for one sample x of channel c, `example` for a
 * whole one. Byte data goes through a lookup table per channel, built once.
 */
export class Normalizer {
  private readonly tables: Float32Array[] | undefined;
  private readonly means: Float64Array;
  private readonly stds: Float64Array;
  /** What a raw value is multiplied by first: 1/255 for bytes. */
  private readonly scale: number;
  readonly channels: number;
  readonly plane: number;

  constructor(
    readonly normalization: Normalization,
    /** One example's shape, [C, H, W]. */
    shape: readonly number[],
    /** True for byte data (0-255 scaled to [0,1]), false for floats taken as they are. */
    readonly bytes: boolean,
  ) {
    const problem = normalizationProblem(normalization, shape[0]);
    if (problem) throw new Error(problem);
    this.channels = shape[0];
    this.plane = shape.slice(1).reduce((a, b) => a * b, 1);
    this.means = Float64Array.from({ length: this.channels }, (_, c) => channelStats(normalization, c)[0]);
    this.stds = Float64Array.from({ length: this.channels }, (_, c) => channelStats(normalization, c)[1]);
    this.scale = bytes ? 1 / 255 : 1;
    this.tables = bytes
      ? Array.from({ length: this.channels }, (_, c) => {
          const [mean, std] = channelStats(normalization, c);
          return Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean) / std);
        })
      : undefined;
  }

  static for(split: Pick<Split, 'images' | 'shape'>, normalization: Normalization): Normalizer {
    return new Normalizer(normalization, split.shape, split.images instanceof Uint8Array);
  }

  /** A sample x of channel c (a byte value, possibly interpolated, or a float), normalised. */
  value(c: number, x: number): number {
    return (x * this.scale - this.means[c]) / this.stds[c];
  }

  /** Example `src[srcOffset ..]` normalised into `out[outOffset ..]`. */
  example(src: Uint8Array | Float32Array, srcOffset: number, out: Float32Array, outOffset: number): void {
    const { plane, tables } = this;
    for (let c = 0; c < this.channels; c++) {
      const from = srcOffset + c * plane;
      const to = outOffset + c * plane;
      if (tables) {
        const table = tables[c];
        for (let p = 0; p < plane; p++) out[to + p] = table[src[from + p]];
      } else {
        for (let p = 0; p < plane; p++) out[to + p] = this.value(c, src[from + p]);
      }
    }
  }
}

/**
 * Per-channel mean and standard deviation of a split's inputs (pixels scaled to [0,1] for byte
 * data), as one computes them for torchvision's Normalize: over every example and position.
 */
export function normalization(split: Pick<Split, 'images' | 'shape' | 'count'>): Normalization {
  const channels = split.shape[0];
  const plane = split.shape.slice(1).reduce((a, b) => a * b, 1);
  const scale = split.images instanceof Uint8Array ? 1 / 255 : 1;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let squares = 0;
    for (let n = 0; n < split.count; n++) {
      const from = (n * channels + c) * plane;
      for (let p = 0; p < plane; p++) {
        const x = split.images[from + p] * scale;
        sum += x;
        squares += x * x;
      }
    }
    const count = split.count * plane;
    const m = sum / count;
    mean.push(m);
    std.push(Math.sqrt(Math.max(squares / count - m * m, 0)) || 1);
  }
  return { mean, std };
}
