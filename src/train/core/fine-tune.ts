/**
 * Fine-tuning an exported model on a few examples of one's own ("teach it your handwriting").
 * The model is the network with BatchNorm folded into its convs (`withBatchNormFolded`): the
 * statistics stay frozen, as they should on a handful of examples. A few dozen SGD steps run
 * on batches that mix the user's examples, augmented, with training-set images, so the model
 * learns the new examples without forgetting the old task. The same TrainingLoop as a
 * training run does the steps and the final test evaluation. Runtime-neutral.
 */
import type { AugmentOptions } from '../../data/augment.js';
import { fillAugmentedImages, fillLabels } from '../../data/batches.js';
import type { Split } from '../../data/dataset.js';
import { optimizerSlots } from '../../graph/optim.js';
import { numel } from '../../graph/shape.js';
import { dropoutMasks, slotName } from '../../model/graphs.js';
import { copyState, type Network, type StateDict } from '../../model/network.js';
import { Rng } from '../../util/rng.js';
import { type Batch, type BatchBuffers, batchBuffers, type BatchOptions, type BatchSource, batchView } from './batch-source.js';
import type { TrainConfig } from './config.js';
import { recipe } from './recipe.js';
import { fillStepMasks } from './dropout-masks.js';
import type { Runtime } from './runtime.js';
import { DivergedError, type ResumePoint, TrainingLoop } from './training-loop.js';

export interface FineTuneRecipe {
  steps: number;
  batchSize: number;
  /** Places in each batch for the user's examples (drawn with repeats, each augmented anew); the rest are training images. */
  ownPerBatch: number;
  lr: number;
  augment: AugmentOptions;
  seed: number;
}

/**
 * Seconds of training in a page: 60 steps of 32 images, 4 of them the user's. Measured on the
 * shipped model with digits drawn as the demo's pen draws them (docs/browser.md, "Teach it your handwriting"): five misread
 * digits taught with their labels are all read right after it and MNIST stays at 99.12%; four
 * "1"s taught as 7 (a label MNIST contradicts 1,135 times) turn 3 of the 4 to 7 at 99.10%.
 * The folded weights have no BatchNorm to even out their scale: SGD at 0.01 diverges.
 */
export const FINE_TUNE: FineTuneRecipe = { steps: 60, batchSize: 32, ownPerBatch: 4, lr: 0.001, augment: { rotate: 7, shift: 2 }, seed: 1 };

const OWN_STREAM = 0x6f776e; // 'own'
const BASE_STREAM = 0x62617365; // 'base'

/** The user's examples as a Split: 28x28 inputs in [0,1] (as src/preprocess makes them) with their labels. */
export function ownExamples(inputs: readonly Float32Array[], labels: readonly number[]): Split {
  if (inputs.length !== labels.length || inputs.length === 0) throw new Error('fine-tuning needs at least one example, each with a label');
  const images = new Uint8Array(inputs.length * 784);
  inputs.forEach((x, i) => {
    if (x.length !== 784) throw new Error(`example ${i + 1} has ${x.length} values, expected 28x28 = 784`);
    x.forEach((v, j) => {
      images[i * 784 + j] = Math.round(255 * Math.min(1, Math.max(0, v)));
    });
  });
  return { images, labels: Uint8Array.from(labels), count: inputs.length, rows: 28, cols: 28 };
}

/**
 * Batches of `recipe.ownPerBatch` of the user's examples followed by training images, both
 * drawn at random (seeded by step) and augmented; one "epoch" of `recipe.steps` batches.
 */
export class MixedBatches implements BatchSource {
  private readonly options: BatchOptions;
  private readonly buffers: BatchBuffers;
  private readonly imageSize: number;

  constructor(
    private readonly own: Split,
    private readonly base: Split,
    private readonly recipe: FineTuneRecipe,
    masks: BatchOptions['masks'],
  ) {
    if (recipe.ownPerBatch >= recipe.batchSize) throw new Error('a fine-tuning batch needs room for training images too');
    if (own.rows !== base.rows || own.cols !== base.cols)
      throw new Error(`the examples are ${own.rows}x${own.cols}, the training images ${base.rows}x${base.cols}`);
    this.options = { examples: recipe.steps * recipe.batchSize, batchSize: recipe.batchSize, seed: recipe.seed, shuffle: true, augment: recipe.augment, masks };
    this.imageSize = base.rows * base.cols;
    this.buffers = batchBuffers(this.options, this.imageSize);
  }

  get batchesPerEpoch(): number {
    return this.recipe.steps;
  }

  private fill(step: number): Batch {
    const { own, base, recipe, imageSize: size } = this;
    const batch = batchView(this.options, this.buffers, recipe.batchSize, size);
    const parts = [
      { split: own, count: recipe.ownPerBatch, stream: OWN_STREAM, at: 0 },
      { split: base, count: recipe.batchSize - recipe.ownPerBatch, stream: BASE_STREAM, at: recipe.ownPerBatch },
    ];
    for (const { split, count, stream, at } of parts) {
      const rng = new Rng(recipe.seed, stream, step);
      const order = Uint32Array.from({ length: count }, () => rng.int(split.count));
      const seed = (recipe.seed ^ stream) >>> 0; // the two parts' augmentations must differ
      fillAugmentedImages(split, order, 0, count, batch.images.subarray(at * size, (at + count) * size), recipe.augment, seed, step);
      fillLabels(split, 0, count, batch.labels.subarray(at, at + count), order);
    }
    fillStepMasks(
      batch.masks.map((data, i) => ({ data, p: this.options.masks[i].p })),
      recipe.seed,
      step,
    );
    return batch;
  }

  async *epoch(_epoch: number, first: number, firstStep: number, last: number): AsyncGenerator<Batch> {
    for (let b = first; b < last; b++) yield this.fill(firstStep + b - first);
  }

  async close(): Promise<void> {}
}

/** The TrainConfig a fine-tune runs under: one pass of `recipe.steps` batches at a constant rate. */
export function fineTuneConfig(tune: FineTuneRecipe): TrainConfig {
  return recipe({ epochs: 1, batchSize: tune.batchSize, lr: tune.lr, schedule: { kind: 'constant' }, seed: tune.seed, augment: tune.augment });
}

export interface FineTuneInput {
  /** The network with BatchNorm folded (`withBatchNormFolded()`), and its state (e.g. `foldedStateFromModel`). */
  net: Network;
  model: StateDict;
  own: Split;
  /** Training images mixed in so that the model does not forget. */
  base: Split;
  runtime: Runtime;
  recipe?: FineTuneRecipe;
  onStep?(step: number, loss: number): void;
}

/**
 * Runs `recipe.steps` optimizer steps from `model` with fresh optimizer state; returns the tuned
 * state (copies). It steps the TrainingLoop directly: a fine-tune has no epochs, checkpoints or
 * per-epoch evaluation; the caller evaluates what it keeps (the page checks its export on the
 * whole test set, which gives the accuracy it shows).
 */
export async function fineTune({ net, model, own, base, runtime, recipe = FINE_TUNE, onStep }: FineTuneInput): Promise<StateDict> {
  const config = fineTuneConfig(recipe);
  const masks = dropoutMasks(net, recipe.batchSize);
  const optimizer: StateDict = new Map(
    net.parameterSpecs.flatMap((p) =>
      optimizerSlots(config.optimizer).map((slot) => [slotName(p.name, slot), { shape: p.shape, data: new Float32Array(numel(p.shape)) }] as const),
    ),
  );
  const start: ResumePoint = { model, optimizer, position: { epoch: 0, batch: 0, step: 0 }, metrics: [], savedAt: 'the model being tuned' };
  const batches = new MixedBatches(own, base, recipe, masks);
  const loop = await TrainingLoop.create(net, config, { runtime }, start); // it only steps: no epochs, evaluation or snapshots
  try {
    let step = 0;
    for await (const batch of batches.epoch(0, 0, 0, recipe.steps)) {
      const { loss } = await loop.step(batch, recipe.lr);
      if (!Number.isFinite(loss)) throw new DivergedError(`fine-tuning diverged: the loss became ${loss} at step ${step + 1} (lr ${recipe.lr})`);
      onStep?.(++step, loss);
    }
    return copyState(loop.modelState());
  } finally {
    await loop.close();
  }
}
