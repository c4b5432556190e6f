/** A run with a moving average of the weights (`--ema-decay`) evaluates, checkpoints and resumes it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Dataset, loadDataset } from '../../src/data/mnist.node.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { latestCheckpointDir, loadCheckpoint } from '../../src/train/checkpoint.js';
import type { TrainConfig } from '../../src/train/core/config.js';
import { TrainingRun } from '../../src/train/training-run.js';
import { quickConfig } from '../helpers/train.js';
import { entry, must } from '../helpers/must.js';

describe('a run with a moving average', () => {
  let data: Dataset;
  beforeAll(() => {
    data = loadDataset();
  });
  const config: TrainConfig = { ...quickConfig(), trainLimit: 320, testLimit: 200, epochs: 2, average: { decay: 0.9 } };

  async function train(c: TrainConfig, dir: string, resume?: ReturnType<typeof loadCheckpoint>) {
    const trainer = await TrainingRun.create(seedCnn(), c, data, dir, resume);
    const losses: number[] = [];
    try {
      await trainer.run({
        onStep: (b) => {
          losses.push(b.loss);
        },
      });
      return {
        losses,
        state: new Map([...trainer.modelState()].map(([k, v]) => [k, Float32Array.from(v.data)])),
        metrics: [...trainer.history],
      };
    } finally {
      await trainer.close();
    }
  }

  test('evaluates and checkpoints the average, and resumes it exactly', async () => {
    const straightDir = mkdtempSync(join(tmpdir(), 'average-'));
    const straight = await train(config, straightDir);
    const saved = loadCheckpoint(must(latestCheckpointDir(straightDir), 'a checkpoint'), seedCnn());
    const average = must(saved.average, "the checkpoint's average");
    // what the run evaluates is the average, which is not the live weights
    for (const [name, values] of straight.state) expect(entry(average, name).data, name).toEqual(values);
    expect(entry(saved.model, 'conv1.weight').data).not.toEqual(entry(average, 'conv1.weight').data);

    const dir = mkdtempSync(join(tmpdir(), 'average-'));
    await train({ ...config, maxSteps: 5 }, dir); // stops after epoch 1 (320 / 64 steps)
    const resumed = await train(config, dir, loadCheckpoint(must(latestCheckpointDir(dir), 'a checkpoint'), seedCnn()));
    expect(resumed.losses).toEqual(straight.losses.slice(5));
    for (const [name, values] of straight.state) expect(resumed.state.get(name), name).toEqual(values);
    expect(resumed.metrics[1].test_acc).toBe(straight.metrics[1].test_acc);
  });
});
