/**
 * Fine-tuning an exported model on a few examples of one's own ("teach it your handwriting").
 * The model is the network with BatchNorm folded into its convs (`withBatchNormFolded`): the
 * statistics stay frozen, as they should on a handful of examples. SGD steps run on batches that
 * mix the user's examples, augmented, with training-set images, so the model learns the new
 * examples without forgetting the old task, until every example reads as taught. The same
 * Stepper as a training run does the steps. Runtime-neutral.
 */
import type { AugmentOptions } from '../../data/augment.js';
import { fillAugmentedImages, fillImages, fillLabels } from '../../data/batches.js';
import { type ByteSplit, exampleSize, type Split } from '../../data/dataset.js';
import { MNIST_NORMALIZATION, type Normalization, Normalizer } from '../../data/normalize.js';
import { dropoutMasks } from '../../model/graphs.js';
import type { Network } from '../../model/network.js';
import { copyState, type StateDict } from '../../model/state-dict.js';
import { Rng } from '../../util/rng.js';
import { type Batch, type BatchBuffers, batchBuffers, type BatchOptions, batchView } from './batch-source.js';
import type { TrainConfig } from './config.js';
import { fillStepMasks } from './dropout-masks.js';
import { Evaluator } from './evaluator.js';
import { recipe } from './recipe.js';
import type { Runtime } from './runtime.js';
import { Stepper } from './stepper.js';
import { DivergedError } from './training-loop.js';

export interface FineTuneRecipe {
  /** The most optimizer steps a fine-tune takes (a set it cannot learn stops here). */
  maxSteps: number;
  /** Steps between two checks of the user's examples (each check runs them through the evaluation graph). */
  checkEvery: number;
  /** Training stops at a check where every example's label has at least this probability. */
  confidence: number;
  batchSize: number;
  /**
   * Places in each batch for the user's examples at first (drawn with
   * repeats, each augmented anew); the rest are training images.
   */
  ownPerBatch: number;
  /** While the examples are not learned, their places double every this many steps (up to half the batch). */
  escalateEvery: number;
  lr: number;
  optimizer?: TrainConfig['optimizer'];
  augment: AugmentOptions;
  seed: number;
}

/**
 * Measured by `npm run bench:teach` on drawn digits (docs/browser.md, "Teach it your
 * handwriting"). Batches of 128 training images hold the user's examples in 2 places at first:
 * digits the shipped model misreads, taught their labels, take within a few dozen steps and MNIST
 * barely moves. Labels that MNIST contradicts (a drawn 1 taught as 7) fight the training
 * images; their places double every 25 steps until they take, which a small fixed share (4 of
 * 32, the first recipe) often never did. Stopping at the first step where all of them read as
 * taught (probability 0.5, so each is the model's answer) keeps the change to what they need.
 * The folded weights have no BatchNorm to even out their scale: SGD at 0.01 diverges.
 */
export const FINE_TUNE: FineTuneRecipe = {
  maxSteps: 300,
  checkEvery: 1,
  confidence: 0.5,
  batchSize: 128,
  ownPerBatch: 2,
  escalateEvery: 25,
  lr: 0.001,
  augment: { rotate: 7, shift: 2 },
  seed: 1,
};

const OWN_STREAM = 0x6f776e; // 'own'
const BASE_STREAM = 0x62617365; // 'base'

/** The user's examples as a Split: 28x28 inputs in [0,1] (as src/preprocess makes them) with their labels. */
export function ownExamples(inputs: readonly Float32Array[], labels: readonly number[]): ByteSplit {
  if (inputs.length !== labels.length || inputs.length === 0)
    throw new Error('fine-tuning needs at least one example, each with a label');
  const images = new Uint8Array(inputs.length * 784);
  inputs.forEach((x, i) => {
    if (x.length !== 784) throw new Error(`example ${i + 1} has ${x.length} values, expected 28x28 = 784`);
    x.forEach((v, j) => {
      images[i * 784 + j] = Math.round(255 * Math.min(1, Math.max(0, v)));
    });
  });
  return { images, labels: Uint8Array.from(labels), count: inputs.length, shape: [1, 28, 28] };
}

/**
 * Places for the user's examples in the batch of step `step` while they are
 * not learned: doubled every `escalateEvery` steps, up to half the batch.
 */
export function ownPlaces(recipe: FineTuneRecipe, step: number): number {
  return Math.min(recipe.batchSize >> 1, recipe.ownPerBatch * 2 ** Math.floor(step / recipe.escalateEvery));
}

/**
 * Batches of some of the user's examples followed by training images, both drawn at random
 * (seeded by step) and augmented: `batch(step, places)`. fineTune asks for each step's batch with
 * the places ownPlaces gives, so this is no BatchSource: it has no epochs.
 */
export class MixedBatches {
  private readonly options: BatchOptions;
  private readonly buffers: BatchBuffers;
  private readonly imageSize: number;
  private readonly normalizer: Normalizer;

  constructor(
    private readonly own: Split,
    private readonly base: Split,
    private readonly recipe: FineTuneRecipe,
    masks: BatchOptions['masks'],
    normalize: Normalization,
  ) {
    if (own.shape.join() !== base.shape.join())
      throw new Error(`the examples are [${own.shape}], the training images [${base.shape}]`);
    this.options = {
      examples: recipe.maxSteps * recipe.batchSize,
      batchSize: recipe.batchSize,
      seed: recipe.seed,
      shuffle: true,
      augment: recipe.augment,
      masks,
      normalize,
    };
    this.imageSize = exampleSize(base);
    this.buffers = batchBuffers(this.options, this.imageSize);
    this.normalizer = Normalizer.for(base, normalize);
  }

  /** The batch of optimizer step `step` (0-based) with `ownCount` of the user's examples first. */
  batch(step: number, ownCount = this.recipe.ownPerBatch): Batch {
    const { own, base, recipe, imageSize: size } = this;
    if (ownCount >= recipe.batchSize) throw new Error('a fine-tuning batch needs room for training images too');
    const batch = batchView(this.options, this.buffers, recipe.batchSize, size);
    const parts = [
      { split: own, count: ownCount, stream: OWN_STREAM, at: 0 },
      { split: base, count: recipe.batchSize - ownCount, stream: BASE_STREAM, at: ownCount },
    ];
    for (const { split, count, stream, at } of parts) {
      const rng = new Rng(recipe.seed, stream, step);
      const order = Uint32Array.from({ length: count }, () => rng.int(split.count));
      const seed = (recipe.seed ^ stream) >>> 0; // the two parts' augmentations must differ
      fillAugmentedImages(
        split,
        order,
        0,
        count,
        batch.images.subarray(at * size, (at + count) * size),
        this.normalizer,
        recipe.augment,
        seed,
        step,
      );
      fillLabels(split, 0, count, batch.labels.subarray(at, at + count), order);
    }
    fillStepMasks(
      batch.masks.map((data, i) => ({ data, p: this.options.masks[i].p })),
      recipe.seed,
      step,
    );
    return batch;
  }
}

/** The TrainConfig a fine-tune runs under: at most one pass of `recipe.maxSteps` batches at a constant rate. */
function fineTuneConfig(tune: FineTuneRecipe): TrainConfig {
  return recipe({
    epochs: 1,
    batchSize: tune.batchSize,
    lr: tune.lr,
    schedule: { kind: 'constant' },
    seed: tune.seed,
    augment: tune.augment,
    ...(tune.optimizer && { optimizer: tune.optimizer }),
  });
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
  /** How the model normalises its inputs (default MNIST's: the draw page tunes digit readers). */
  normalize?: Normalization;
  onStep?(step: number, loss: number): void;
}

export interface FineTuned {
  /** The tuned state (copies). */
  model: StateDict;
  /** Optimizer steps taken (0 when the examples already read as taught). */
  steps: number;
  /** For each example, whether it reads as its label with the recipe's confidence at the end. */
  learned: boolean[];
}

/** Whether each of `own`'s examples reads as its label with at least probability `confidence` under `model`. */
export async function readsAsTaught(
  evaluator: Evaluator,
  model: StateDict,
  own: Split,
  confidence: number,
): Promise<boolean[]> {
  const images = new Float32Array(own.count * exampleSize(own));
  fillImages(own, 0, own.count, images, Normalizer.for(own, evaluator.normalize));
  const logp = await evaluator.logProbs(model, images, own.count);
  const classes = logp.length / own.count;
  return Array.from(own.labels, (label, i) => logp[i * classes + label] >= Math.log(confidence));
}

/**
 * Teaches `model` the user's examples: optimizer steps from fresh optimizer state, on batches
 * that mix them with training images, until every example reads as its label with the
 * recipe's confidence (checked every `checkEvery` steps on the examples as given, not
 * augmented) or `maxSteps` have run. Stopping as soon as the examples are learned is what keeps
 * the rest of what the model knew: each further step only pulls it away from the shipped
 * weights. It drives a Stepper directly: a fine-tune has no epochs or checkpoints; the caller
 * evaluates what it keeps (the page checks its export on the whole test set).
 */
export async function fineTune({
  net,
  model,
  own,
  base,
  runtime,
  recipe = FINE_TUNE,
  normalize = MNIST_NORMALIZATION,
  onStep,
}: FineTuneInput): Promise<FineTuned> {
  const config = fineTuneConfig(recipe);
  const masks = dropoutMasks(net, recipe.batchSize);
  if (!(recipe.checkEvery >= 1 && recipe.escalateEvery >= 1))
    throw new Error('fine-tuning: checkEvery and escalateEvery must be at least 1 step');
  const evaluator = await Evaluator.create(net, runtime, normalize);
  let stepper: Stepper | undefined;
  try {
    let learned = await readsAsTaught(evaluator, model, own, recipe.confidence);
    if (learned.every(Boolean)) return { model: copyState(model), steps: 0, learned };
    const batches = new MixedBatches(own, base, recipe, masks, normalize);
    stepper = Stepper.create(net, config, runtime, { model, from: 'the model being tuned' }); // fresh optimizer state
    let steps = 0;
    while (steps < recipe.maxSteps && !learned.every(Boolean)) {
      const { loss } = await stepper.step(batches.batch(steps, ownPlaces(recipe, steps)), recipe.lr, steps);
      if (!Number.isFinite(loss))
        throw new DivergedError(`fine-tuning diverged: the loss became ${loss} at step ${steps + 1} (lr ${recipe.lr})`);
      steps++;
      onStep?.(steps, loss);
      if (steps % recipe.checkEvery === 0 || steps === recipe.maxSteps)
        learned = await readsAsTaught(evaluator, stepper.modelState(), own, recipe.confidence);
    }
    return { model: copyState(stepper.modelState()), steps, learned };
  } finally {
    await evaluator.release();
    await stepper?.close();
  }
}
