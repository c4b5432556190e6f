/** A small training recipe for tests, and training on Node for the tests that compare against it. */
import type { Dataset } from '../../src/data/dataset.js';
import type { Network } from '../../src/model/network.js';
import type { TrainConfig } from '../../src/train/core/config.js';
import { recipe } from '../../src/train/core/recipe.js';
import { type ResumePoint, TrainerBase } from '../../src/train/core/trainer.js';
import { nodeRuntime } from '../../src/train/node-runtime.js';

/** The CLI's defaults on 128 images, one thread. */

export function quickConfig(): TrainConfig {
  return recipe({ epochs: 1, batchSize: 64, dropout: 0.1, trainLimit: 128, testLimit: 100, threads: 1 });
}

/**
 * The losses of the core training `net` on onnxruntime-node with `config` (its batches as the
 * trainer and the page draw them), one thread, from `resume` or from the net's initial state;
 * the run's own test evaluation uses one image.
 */
export async function nodeLosses(
  net: Network,
  config: TrainConfig,
  data: Dataset,
  resume?: ResumePoint,
): Promise<number[]> {
  const trainer = await TrainerBase.create(net, { ...config, threads: 1 }, nodeRuntime({ threads: 1 }), { resume });
  const losses: number[] = [];
  const { position } = trainer;
  try {
    await trainer.fit(data.train, {
      epochs: config.epochs - position.epoch,
      validation: data.test,
      validationLimit: 1,
      onStep: (info) => {
        losses.push(info.loss);
      },
    });
  } finally {
    await trainer.close();
  }
  return losses;
}
