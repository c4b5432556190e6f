/** A small training recipe for tests: the CLI's defaults on 128 images, one thread. */
import type { TrainConfig } from '../../src/train/core/config.js';

export function quickConfig(): TrainConfig {
  return {
    epochs: 1,
    batchSize: 64,
    lr: 0.05,
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0, nesterov: false },
    schedule: { kind: 'step', stepSize: 7, gamma: 0.1 },
    seed: 1,
    dropout: 0.1,
    augment: { rotate: 7, shift: 2 },
    shuffle: true,
    trainLimit: 128,
    testLimit: 100,
    threads: 1,
    device: 'cpu',
  };
}
