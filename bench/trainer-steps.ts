/**
 * Timing training steps as the trainer runs them (batch from the worker, ORT step), shared by
 * `npm run bench` (bench/speed.ts) and `npm run bench:steps` (bench/steps.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '../src/data/dataset.js';
import type { Network } from '../src/model/network.js';
import { seedCnn } from '../src/model/seed-cnn.js';
import type { TrainConfig } from '../src/train/core/config.js';
import { recipe } from '../src/train/core/recipe.js';
import { TrainingRun } from '../src/train/training-run.js';

/** The default recipe's step (SGD momentum 0.9, dropout 0.1, rotation and shift) at a constant rate, for one epoch. */
export const benchRecipe: TrainConfig = recipe({ epochs: 1, schedule: { kind: 'constant' }, dropout: 0.1 });

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/**
 * Runs `body` with a trainer for `config` (of `net`, by default
 * the seed CNN) in a temporary run folder, removed afterwards.
 */
export async function withTrainer<T>(
  config: TrainConfig,
  data: Dataset,
  body: (t: TrainingRun) => Promise<T>,
  net: Network = seedCnn(),
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const trainer = await TrainingRun.create(net, config, data, dir);
  try {
    return await body(trainer);
  } finally {
    await trainer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wall-clock ms between consecutive steps of `steps` steps, after 5 warm-up steps. */
export async function stepTimes(
  config: TrainConfig,
  data: Dataset,
  steps: number,
  net?: Network,
): Promise<{ step_ms_median: number; step_ms_min: number }> {
  const times: number[] = [];
  await withTrainer(
    { ...config, maxSteps: steps + 5, testLimit: 100 },
    data,
    async (t) => {
      let last = 0;
      await t.run({
        onStep: ({ step }) => {
          const now = performance.now();
          if (step > 5) times.push(now - last);
          last = now;
        },
      });
    },
    net,
  );
  return { step_ms_median: round(median(times)), step_ms_min: round(Math.min(...times)) };
}
