/**
 * What the training page can run: the CLI's default recipe (StepLR) or OneCycle, batch 64 or
 * 128, for a number of steps or epochs, as the core's TrainConfig. Pure: the page, its worker
 * and the tests (which replay the same recipe on onnxruntime-node) all build it here.
 */
import type { TrainConfig } from '../../src/train/core/config.js';
import { DEFAULT_RECIPE, ONECYCLE, recipeFor, type RunLength } from '../../src/train/core/recipe.js';
import type { Schedule } from '../../src/train/core/schedule.js';

export const BATCH_SIZES = [64, 128] as const;
export type BatchSize = (typeof BATCH_SIZES)[number];

/** The two presets: the CLI's default StepLR recipe, and OneCycle (`--schedule onecycle`). */
export const SCHEDULES = {
  step: { label: 'StepLR (x0.1 every 7 epochs), the default', schedule: DEFAULT_RECIPE.schedule },
  onecycle: { label: 'OneCycle (cosine, over the planned epochs)', schedule: ONECYCLE },
} as const satisfies Record<string, { label: string; schedule: Schedule }>;
export type SchedulePreset = keyof typeof SCHEDULES;
export const isSchedulePreset = (name: string): name is SchedulePreset => Object.hasOwn(SCHEDULES, name);

/** What the page's controls choose. */
export interface RunChoice {
  /** The network: 'builtin' (the seed CNN) or the name of an examples/ model file (shared/example-models.ts). */
  model: string;
  length: RunLength;
  batchSize: BatchSize;
  schedule: SchedulePreset;
}

export const DEFAULT_CHOICE: RunChoice = {
  model: 'builtin',
  length: { kind: 'steps', steps: 300 },
  batchSize: 128,
  schedule: 'step',
};

/**
 * The core's recipe for `choice` on a training set of `examples` images (recipeFor): the CLI's
 * defaults (SGD momentum 0.9, lr 0.05, each model's own dropout, +-7 degrees and +-2 px
 * augmentation, seed 1) at the chosen batch size and schedule.
 */
export function trainConfig(choice: RunChoice, examples: number, threads?: number): TrainConfig {
  const schedule = structuredClone(SCHEDULES[choice.schedule].schedule);
  return { ...recipeFor(choice.length, examples, { batchSize: choice.batchSize, schedule }), threads };
}

/** Optimizer steps the run will take in total. */
export function plannedSteps(config: TrainConfig, stepsPerEpoch: number): number {
  const all = config.epochs * stepsPerEpoch;
  return config.maxSteps === undefined ? all : Math.min(all, config.maxSteps);
}

/**
 * A run's divergence (the core's DivergedError) in the page's words: the page keeps no
 * checkpoints and has no --lr, so the CLI's note and advice are left out; a loss that was never
 * finite (`broken`: the model's initial weights or its forward) gets no learning-rate advice at all.
 */
export function divergedInPage(message: string, broken: boolean): string {
  const cause = message.replace(/; no checkpoint was written yet(\. Try a lower --lr\.)?$/, '');
  if (broken) return cause;
  const lower = ONECYCLE.kind === 'onecycle' ? ONECYCLE.divFactor : 1;
  return (
    `${cause}: the run diverged at the page's learning rate (${DEFAULT_RECIPE.lr}, which it does not change); ` +
    `try the OneCycle schedule, which starts ${lower} times lower and warms up`
  );
}

/**
 * A run the core refuses as too large for the tab (its memory estimate), in the page's words:
 * the page has no allowLargeModel to pass; a smaller batch, where there is one, needs less. Other
 * messages are returned as they are.
 */
export function tooLargeInPage(message: string, batchSize: number): string {
  const advice = '; pass allowLargeModel: true to go ahead';
  if (!message.endsWith(advice)) return message; // another recipe problem
  const cause = message.slice(0, -advice.length);
  const smaller = BATCH_SIZES.filter((b) => b < batchSize);
  return smaller.length
    ? `${cause}: choose a batch of ${smaller.at(-1)}, or a smaller model`
    : `${cause}: choose a smaller model`;
}
