/**
 * Training batches: the shuffled order, augmentation and dropout masks of each step, every
 * draw a function of (seed, epoch or step), so a batch depends neither on timing nor on a
 * resume. `fillBatch` is the one recipe; a source decides where it runs: `InlineBatches` in
 * the caller's thread (any runtime), the Node binding's prefetcher in a worker thread.
 */
import type { AugmentOptions } from '../../data/augment.js';
import { epochOrder, fillAugmentedImages, fillImages, fillLabels } from '../../data/batches.js';
import { exampleSize, type Split } from '../../data/dataset.js';
import { type Normalization, Normalizer } from '../../data/normalize.js';
import { numel } from '../../graph/shape.js';
import type { TrainConfig } from './config.js';
import { fillStepMasks } from './dropout-masks.js';
import { normalizationOf } from './recipe.js';

export interface BatchOptions {
  /** Train on the first `examples` images of the split. */
  examples: number;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  augment: AugmentOptions | null;
  /** Dropout masks as shaped for a full batch. */
  masks: { shape: readonly number[]; p: number }[];
  normalize: Normalization;
  /** Floats per example's target, for the regression losses; absent: one class index (int64). */
  targetWidth?: number;
}

/**
 * The batches a recipe draws from `train` (`masks` from the training-step graph, as shaped for
 * a full batch; `targetWidth` for a regression loss's float targets): what every trainer uses.
 */
export function batchOptions(
  config: TrainConfig,
  train: Split,
  masks: BatchOptions['masks'],
  targetWidth?: number,
): BatchOptions {
  return {
    examples: Math.min(config.trainLimit ?? train.count, train.count),
    batchSize: config.batchSize,
    seed: config.seed,
    shuffle: config.shuffle,
    augment: config.augment,
    masks,
    normalize: normalizationOf(config),
    ...(targetWidth !== undefined && { targetWidth }),
  };
}

/** One batch, as views sized to `size` examples. */
export interface Batch {
  size: number;
  images: Float32Array;
  /** Class indices, or `targetWidth` floats per example. */
  labels: BigInt64Array | Float32Array;
  masks: Float32Array[];
}

export interface BatchSource {
  readonly batchesPerEpoch: number;
  /** The batches of `epoch` from batch `first` up to `last`; batch b is optimizer step `firstStep + b - first`. */
  epoch(epoch: number, first: number, firstStep: number, last: number): AsyncIterable<Batch>;
  close(): Promise<void>;
}

/** Buffers for one full batch: images, labels, one per dropout mask. */
export interface BatchBuffers {
  images: ArrayBuffer;
  labels: ArrayBuffer;
  masks: ArrayBuffer[];
}

export function batchBuffers(options: BatchOptions, imageSize: number): BatchBuffers {
  return {
    images: new ArrayBuffer(options.batchSize * imageSize * 4),
    labels: new ArrayBuffer(options.batchSize * (options.targetWidth === undefined ? 8 : 4 * options.targetWidth)),
    masks: options.masks.map((m) => new ArrayBuffer(numel(m.shape) * 4)),
  };
}

export const batchesPerEpoch = (options: Pick<BatchOptions, 'examples' | 'batchSize'>): number =>
  Math.ceil(options.examples / options.batchSize);

/** Views of `size` examples over a set of buffers. */
export function batchView(options: BatchOptions, buffers: BatchBuffers, size: number, imageSize: number): Batch {
  return {
    size,
    images: new Float32Array(buffers.images, 0, size * imageSize),
    labels:
      options.targetWidth === undefined
        ? new BigInt64Array(buffers.labels, 0, size)
        : new Float32Array(buffers.labels, 0, size * options.targetWidth),
    masks: options.masks.map((m, i) => new Float32Array(buffers.masks[i], 0, (size * numel(m.shape)) / m.shape[0])),
  };
}

/** Fills batch `batch` of `epoch` (optimizer step `step`) into `buffers`; returns its size. */
export class BatchFiller {
  private order?: { epoch: number; indices: Uint32Array };
  private readonly normalizer: Normalizer;

  constructor(
    private readonly split: Split,
    private readonly options: BatchOptions,
  ) {
    this.normalizer = Normalizer.for(split, options.normalize);
  }

  fill(buffers: BatchBuffers, epoch: number, batch: number, step: number): number {
    const { split, options, normalizer } = this;
    if (this.order?.epoch !== epoch)
      this.order = { epoch, indices: epochOrder(options.examples, options.seed, epoch, options.shuffle) };
    const order = this.order.indices;
    const start = batch * options.batchSize;
    const size = Math.min(options.batchSize, options.examples - start);
    const view = batchView(options, buffers, size, exampleSize(split));
    if (options.augment)
      fillAugmentedImages(split, order, start, size, view.images, normalizer, options.augment, options.seed, step);
    else fillImages(split, start, size, view.images, normalizer, order);
    fillLabels(split, start, size, view.labels, order);
    fillStepMasks(
      view.masks.map((data, i) => ({ data, p: options.masks[i].p })),
      options.seed,
      step,
    );
    return size;
  }
}

/** Batches made in the caller's thread, one at a time: for runtimes without worker threads, or one core. */
export class InlineBatches implements BatchSource {
  private readonly filler: BatchFiller;
  private readonly buffers: BatchBuffers;
  private readonly imageSize: number;

  constructor(
    split: Split,
    private readonly options: BatchOptions,
  ) {
    this.options = { ...options, examples: Math.min(options.examples, split.count) };
    this.filler = new BatchFiller(split, this.options);
    this.imageSize = exampleSize(split);
    this.buffers = batchBuffers(this.options, this.imageSize);
  }

  get batchesPerEpoch(): number {
    return batchesPerEpoch(this.options);
  }

  async *epoch(epoch: number, first: number, firstStep: number, last: number): AsyncGenerator<Batch> {
    for (let b = first; b < last; b++) {
      const size = this.filler.fill(this.buffers, epoch, b, firstStep + b - first);
      yield batchView(this.options, this.buffers, size, this.imageSize);
    }
  }

  async close(): Promise<void> {}
}
