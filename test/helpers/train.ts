/** A small training recipe for tests, and training on Node for the tests that compare against it. */
import type { Dataset } from '../../src/data/dataset.js';
import { dropoutMasks } from '../../src/model/graphs.js';
import type { Network } from '../../src/model/network.js';
import { InlineBatches } from '../../src/train/core/batch-source.js';
import type { TrainConfig } from '../../src/train/core/config.js';
import { recipe } from '../../src/train/core/recipe.js';
import { type ResumePoint, TrainingLoop } from '../../src/train/core/training-loop.js';
import { nodeRuntime } from '../../src/train/node-runtime.js';
import { batchOptions } from '../../web-demo/shared/recipe.js';

/** The CLI's defaults on 128 images, one thread. */

export function quickConfig(): TrainConfig {
  return recipe({ epochs: 1, batchSize: 64, dropout: 0.1, trainLimit: 128, testLimit: 100, threads: 1 });
}

/**
 * The losses of the core training `net` on onnxruntime-node with `config` (its batches as the
 * trainer and the page draw them), one thread, from `resume` or from the net's initial state;
 * the run's own test evaluation uses one image.
 */
export async function nodeLosses(net: Network, config: TrainConfig, data: Dataset, resume?: ResumePoint): Promise<number[]> {
  const batches = new InlineBatches(data.train, batchOptions(config, data.train, dropoutMasks(net, config.batchSize)));
  const run = { ...config, testLimit: 1, threads: 1 };
  const loop = await TrainingLoop.create(net, run, { runtime: nodeRuntime({ threads: 1 }), batches, test: data.test, save: () => 'memory' }, resume);
  const losses: number[] = [];
  try {
    await loop.run({ onBatch: (info) => losses.push(info.loss) });
  } finally {
    await loop.close();
  }
  return losses;
}
