/**
 * The default recipe, written once. The CLI's flag defaults, the training page's presets, the
 * benches and the tests derive from it: the seed's SGD with momentum 0.9 at lr 0.05, StepLR
 * x0.1 every 7 epochs, batch 128, rotation within +-7 degrees and shift within +-2 px, 15
 * epochs, seed 1; dropout as the model has it (the seed CNN's is 0.1).
 */
import type { AugmentOptions } from '../../data/augment.js';
import { MNIST_NORMALIZATION, type Normalization } from '../../data/normalize.js';
import type { TrainConfig } from './config.js';
import type { Schedule } from './schedule.js';

/** The default optimizer, SGD with momentum 0.9 (also for graphs built without a whole recipe). */
export const DEFAULT_SGD = Object.freeze({ kind: 'sgd', momentum: 0.9, weightDecay: 0, nesterov: false } as const);

/** The digits' augmentation: rotation within +-7 degrees and shift within +-2 px. */
export const DIGIT_AUGMENT: Readonly<AugmentOptions> = Object.freeze({ rotate: 7, shift: 2 });

/** The default schedule, StepLR x0.1 every 7 epochs (the CLI's --step-size and --gamma default to it). */
export const DEFAULT_STEP_LR: Readonly<Extract<Schedule, { kind: 'step' }>> = Object.freeze({
  kind: 'step',
  stepSize: 7,
  gamma: 0.1,
});

const config: TrainConfig = {
  epochs: 15,
  batchSize: 128,
  lr: 0.05,
  optimizer: { ...DEFAULT_SGD },
  schedule: { ...DEFAULT_STEP_LR },
  seed: 1,
  augment: { ...DIGIT_AUGMENT },
  shuffle: true,
  device: 'cpu',
};

/** Read it, never change it: `recipe(changes)` makes a recipe of one's own. */
export const DEFAULT_RECIPE: Readonly<TrainConfig> = Object.freeze(config);

/** Adam's and AdamW's constants, PyTorch's defaults (`--optimizer adam|adamw`). */
export const ADAM_CONSTANTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** OneCycle as `--schedule onecycle` runs it: PyTorch's OneCycleLR defaults (cosine, warm-up over 30%). */
export const ONECYCLE: Schedule = { kind: 'onecycle', pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 };

/** The default recipe with `changes` (a deep copy: nothing shared with the default). */
export function recipe(changes: Partial<TrainConfig> = {}): TrainConfig {
  return { ...structuredClone(DEFAULT_RECIPE), ...changes };
}

/** How long to train: a number of optimizer steps, or of whole epochs. */
export type RunLength = { kind: 'steps'; steps: number } | { kind: 'epochs'; epochs: number };

/**
 * The default recipe with `changes`, for a run of `length` on a training set of `examples` images.
 * A step-limited run plans the whole epochs it touches and stops at maxSteps, as `--max-steps`
 * does, so OneCycle then spans those epochs (it is not squeezed into the steps).
 */
export function recipeFor(length: RunLength, examples: number, changes: Partial<TrainConfig> = {}): TrainConfig {
  const stepsPerEpoch = Math.ceil(examples / (changes.batchSize ?? DEFAULT_RECIPE.batchSize));
  return recipe({
    ...changes,
    epochs: length.kind === 'epochs' ? length.epochs : Math.ceil(length.steps / stepsPerEpoch),
    maxSteps: length.kind === 'steps' ? length.steps : undefined,
  });
}

/**
 * The input normalisation a recipe applies: its own, else MNIST's (the
 * default, and what runs recorded before it was configurable used).
 */
export const normalizationOf = (config: Pick<TrainConfig, 'normalize'>): Normalization =>
  config.normalize ?? MNIST_NORMALIZATION;
