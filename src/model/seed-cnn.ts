/**
 * The seed's CNN (ERA V3 assignment 6), exactly as its README lists it: 17,430 parameters.
 *   Block 1: conv1 1->12, conv2 12->32 (3x3, pad 1), MaxPool 2, trans1 1x1 32->12
 *   Block 2: conv3 12->16, conv4 16->32, MaxPool 2, trans2 1x1 32->12
 *   Block 3: conv5 12->32 (pad 1), conv6 32->10 (pad 0)
 *   Output:  global average pooling, log-softmax
 * Each 3x3 conv is followed by BatchNorm, Dropout and ReLU, in that order; the 1x1
 * transition convs have a bias and nothing after them.
 */
import { BatchNorm2d, Conv2d, Dropout, GlobalAvgPool, type Layer, LogSoftmax, MaxPool2d, ReLU } from './layers.js';
import { Network } from './network.js';

export interface SeedCnnOptions {
  /** Dropout probability after every 3x3 conv (the seed uses 0.1). */
  dropout?: number;
}

/** conv{i} -> bn{i} -> dropout{i} -> relu{i} */
function convUnit(i: number, inChannels: number, outChannels: number, padding: number, dropout: number): Layer[] {
  return [
    new Conv2d(`conv${i}`, inChannels, outChannels, 3, padding),
    new BatchNorm2d(`bn${i}`, outChannels),
    new Dropout(`dropout${i}`, dropout),
    new ReLU(`relu${i}`),
  ];
}

export function seedCnn({ dropout = 0.1 }: SeedCnnOptions = {}): Network {
  return new Network(
    'seed-cnn',
    [
      {
        name: 'Block 1',
        layers: [
          ...convUnit(1, 1, 12, 1, dropout),
          ...convUnit(2, 12, 32, 1, dropout),
          new MaxPool2d('pool1', 2),
          new Conv2d('trans1', 32, 12, 1),
        ],
      },
      {
        name: 'Block 2',
        layers: [
          ...convUnit(3, 12, 16, 1, dropout),
          ...convUnit(4, 16, 32, 1, dropout),
          new MaxPool2d('pool2', 2),
          new Conv2d('trans2', 32, 12, 1),
        ],
      },
      {
        name: 'Block 3',
        layers: [...convUnit(5, 12, 32, 1, dropout), ...convUnit(6, 32, 10, 0, dropout)],
      },
      { name: 'Output', layers: [new GlobalAvgPool('gap'), new LogSoftmax('log_softmax')] },
    ],
    [1, 28, 28],
  );
}
