/**
 * What a run records about itself (run.json, each checkpoint's trainer.json), as zod schemas
 * with the TypeScript types derived from them: one definition serves the trainer, the
 * checkpoints and the validation of files read back, so a hand-edited or damaged file is
 * refused with the field that is wrong instead of training on nonsense.
 */
import { z } from 'zod';
import type { AugmentOptions } from '../../data/augment.js';
import type { Normalization } from '../../data/normalize.js';
import type { OptimizerOptions } from '../../graph/optim.js';
import { LOSS_KINDS } from '../../model/loss.js';
import type { Schedule } from './schedule.js';

const count = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();
const positive = z.number().positive();
const fraction = z.number().min(0).lt(1);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 in hex');

const optimizerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('sgd'), momentum: nonNegative, weightDecay: nonNegative, nesterov: z.boolean() }),
  z.strictObject({
    kind: z.enum(['adam', 'adamw']),
    beta1: fraction,
    beta2: fraction,
    eps: positive,
    weightDecay: nonNegative,
  }),
]) satisfies z.ZodType<OptimizerOptions>;

const scheduleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant') }),
  z.strictObject({ kind: z.literal('step'), stepSize: positiveInt, gamma: positive }),
  z.strictObject({
    kind: z.literal('onecycle'),
    pctStart: z.number().gt(0).lt(1),
    divFactor: positive,
    finalDivFactor: positive,
  }),
]) satisfies z.ZodType<Schedule>;

const augmentSchema = z.strictObject({
  rotate: nonNegative,
  shift: count,
  flip: z.boolean().optional(),
}) satisfies z.ZodType<AugmentOptions>;

/** A learning rate set on resume: from optimizer step `step` on, the schedule is rescaled to pass through `lr`. */
const lrChangeSchema = z.strictObject({ step: count, lr: positive });
export type LrChange = z.infer<typeof lrChangeSchema>;

/**
 * The model file a run trains (`--model`), as an absolute path and the SHA-256 of its bytes, and
 * of each local file it imports (by absolute path; absent in runs recorded before these were);
 * absent: the built-in seed CNN. Also the weights a run started from (`--init`).
 */
const modelRecordSchema = z.strictObject({
  file: z.string().min(1),
  sha256,
  imports: z.record(z.string(), sha256).optional(),
});
export type ModelRecord = z.infer<typeof modelRecordSchema>;

const normalizationSchema = z.strictObject({
  mean: z.array(z.number()).min(1).readonly(),
  std: z.array(z.number().positive()).min(1).readonly(),
}) satisfies z.ZodType<Normalization>;
const patterns = z.array(z.string().min(1)).min(1);

/** The built-in seed CNN fitted to data of another shape or class count (absent: 1x28x28, 10 classes). */
const builtinShapeSchema = z.strictObject({
  inputShape: z.array(positiveInt).length(3).readonly(),
  classes: positiveInt.min(2),
});
export type BuiltinShape = z.infer<typeof builtinShapeSchema>;

export const trainConfigSchema = z.strictObject({
  model: modelRecordSchema.optional(),
  /** With no model file: the seed CNN's input shape and classes, when the data is not MNIST's shape. */
  builtin: builtinShapeSchema.optional(),
  epochs: positiveInt,
  batchSize: positiveInt,
  lr: positive,
  optimizer: optimizerSchema,
  schedule: scheduleSchema,
  seed: z.number().int().min(0).max(0xffffffff),
  /** Overrides every Dropout layer's probability (`--dropout`); absent: the model's own. */
  dropout: fraction.optional(),
  /**
   * The loss (`--loss`; model/loss.ts); absent: as the model's
   * last layer implies (NLL after LogSoftmax, else cross-entropy).
   */
  loss: z.enum(LOSS_KINDS).optional(),
  /** Cross-entropy's label smoothing (PyTorch's label_smoothing). */
  labelSmoothing: fraction.optional(),
  /**
   * Per-channel input normalisation (data/normalize.ts); absent:
   * MNIST's, as runs recorded before it was configurable used.
   */
  normalize: normalizationSchema.optional(),
  /** Train only the parameters these patterns select (`--train-only`; core/freeze.ts). */
  trainOnly: patterns.optional(),
  /** Do not train the parameters these patterns select (`--freeze`). */
  freeze: patterns.optional(),
  /** The weights the run started from (`--init`), instead of a fresh initialisation. */
  init: modelRecordSchema.optional(),
  augment: augmentSchema.nullable(),
  shuffle: z.boolean(),
  /** Train on the first N training images (default all). */
  trainLimit: positiveInt.optional(),
  /** Evaluate on the first N test images (default all). */
  testLimit: positiveInt.optional(),
  /** Stop after this many optimizer steps in total. */
  maxSteps: positiveInt.optional(),
  threads: positiveInt.optional(),
  device: z.enum(['cpu', 'cuda']),
  /**
   * The data (`--data`: IDX files, CIFAR-10 batches, a CSV, a folder of
   * images per class), as an absolute path; absent for the bundled MNIST.
   */
  dataDir: z.string().min(1).optional(),
  /** The share of the training examples held out to test on, when the data has no test split (default 0.1). */
  valSplit: z.number().gt(0).lt(1).optional(),
  /** The classes' names (`--class-names`), for data that has none of its own. */
  classNames: z.array(z.string().min(1)).min(2).optional(),
  /** Learning rates set on resume, oldest first. */
  lrChanges: z.array(lrChangeSchema).optional(),
  /**
   * Evaluate, checkpoint and export an exponential moving average of the model state with
   * this decay (warmed up as min(decay, (1 + t) / (10 + t)) at update t); absent: the live weights.
   */
  average: z.strictObject({ decay: z.number().gt(0).lt(1) }).optional(),
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;

const epochMetricsSchema = z.strictObject({
  epoch: positiveInt,
  /** Batches run in this epoch (fewer than an epoch's when --max-steps stopped it). */
  batches: count,
  step: count,
  lr: nonNegative,
  train_loss: z.number(),
  /** Accuracies and counts of correct answers: classification losses only. */
  train_acc: z.number().min(0).max(1).optional(),
  /** The validation split's figures: absent when the run had none. */
  test_loss: z.number().optional(),
  test_acc: z.number().min(0).max(1).optional(),
  test_correct: count.optional(),
  test_count: count.optional(),
  train_seconds: nonNegative,
  test_seconds: nonNegative.optional(),
});
export type EpochMetrics = z.infer<typeof epochMetricsSchema>;

const positionSchema = z.strictObject({
  /** Epoch to continue in (0-based). */
  epoch: count,
  /** First batch of that epoch still to run. */
  batch: count,
  /** Optimizer steps taken so far. */
  step: count,
});
export type Position = z.infer<typeof positionSchema>;

export const CHECKPOINT_FORMAT = 2;

/** trainer.json: where the run is, how it was configured, what it measured, and the hashes of its tensor files. */
export const trainerStateSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  position: positionSchema,
  config: trainConfigSchema,
  metrics: z.array(epochMetricsSchema),
  savedAt: z.string(),
  /** SHA-256 of each tensor file of the checkpoint, by file name. */
  files: z.record(z.string(), sha256),
});
export type TrainerState = z.infer<typeof trainerStateSchema>;

/** run.json: written once when a run folder is created; marks the folder as a run and keeps its recipe. */
export const runRecordSchema = z.strictObject({
  format: z.literal(1),
  producer: z.literal('onnx-mnist-train'),
  created: z.string(),
  config: trainConfigSchema,
});
export type RunRecord = z.infer<typeof runRecordSchema>;

/**
 * What a resumed run may change in its recipe (the flags that
 * apply from the resume point); the rest is fixed for its life.
 */
const CHANGEABLE_ON_RESUME: ReadonlySet<string> = new Set<keyof TrainConfig>([
  'epochs',
  'lrChanges',
  'maxSteps',
  'testLimit',
  'threads',
  'device',
]);

/** The first difference between two values, as `path: a vs b`, or undefined when they are equal (key order aside). */
function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const [x, y] = [new Map<string, unknown>(Object.entries(a)), new Map<string, unknown>(Object.entries(b))];
    for (const key of new Set([...x.keys(), ...y.keys()])) {
      const d = firstDifference(x.get(key), y.get(key), path ? `${path}.${key}` : key);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${path}: ${JSON.stringify(a) ?? 'none'} vs ${JSON.stringify(b) ?? 'none'}`;
}

/** Where two recipes of one run disagree in what a resume may not change, or undefined. */
export function recipeDifference(run: TrainConfig, checkpoint: TrainConfig): string | undefined {
  const fixed = (c: TrainConfig) => Object.fromEntries(Object.entries(c).filter(([k]) => !CHANGEABLE_ON_RESUME.has(k)));
  return firstDifference(fixed(run), fixed(checkpoint), '');
}

/** The first problem zod found, as `path.to.field: message`. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : 'the file';
  return `${where}: ${issue.message}`;
}
