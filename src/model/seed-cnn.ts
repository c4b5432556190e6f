/**
 * The seed's CNN (ERA V3 assignment 6), exactly as its README lists it: 17,430 parameters,
 * written with the public layer API (src/index.ts), as a model file would write it.
 *   Block 1: conv1 1->12, conv2 12->32 (3x3, pad 1), MaxPool 2, trans1 1x1 32->12
 *   Block 2: conv3 12->16, conv4 16->32, MaxPool 2, trans2 1x1 32->12
 *   Block 3: conv5 12->32 (pad 1), conv6 32->10 (pad 0)
 *   Output:  global average pooling, log-softmax
 * Each 3x3 conv is followed by BatchNorm, Dropout and ReLU, in that order; the 1x1
 * transition convs have a bias and nothing after them. The children are named as the PyTorch
 * twin's attributes (bench/pytorch_reference.py), so its state_dict names are `conv1.weight`,
 * `bn1.running_mean`, ...
 */
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  LogSoftmax,
  MaxPool2d,
  ReLU,
  Sequential,
} from './layers/index.js';
import type { Module } from './module.js';
import { Network } from './network.js';

export interface SeedCnnOptions {
  /** Dropout probability after every 3x3 conv (the seed uses 0.1). */
  dropout?: number;
  /** Input channels (1, grey; 3 for colour images). */
  inChannels?: number;
  /** Classes out of conv6 (10, the digits). */
  classes?: number;
}

/** conv{i} -> bn{i} -> dropout{i} -> relu{i} */
function convUnit(
  i: number,
  inChannels: number,
  outChannels: number,
  padding: number,
  dropout: number,
): Record<string, Module> {
  return {
    [`conv${i}`]: new Conv2d(inChannels, outChannels, 3, { padding }),
    [`bn${i}`]: new BatchNorm2d(outChannels),
    [`dropout${i}`]: new Dropout(dropout),
    [`relu${i}`]: new ReLU(),
  };
}

/** The seed CNN as a module tree (what a model file's default export is). */
export function seedCnnModule({ dropout = 0.1, inChannels = 1, classes = 10 }: SeedCnnOptions = {}): Sequential {
  return new Sequential({
    ...convUnit(1, inChannels, 12, 1, dropout),
    ...convUnit(2, 12, 32, 1, dropout),
    pool1: new MaxPool2d(2),
    trans1: new Conv2d(32, 12, 1),
    ...convUnit(3, 12, 16, 1, dropout),
    ...convUnit(4, 16, 32, 1, dropout),
    pool2: new MaxPool2d(2),
    trans2: new Conv2d(32, 12, 1),
    ...convUnit(5, 12, 32, 1, dropout),
    ...convUnit(6, 32, classes, 0, dropout),
    gap: new AdaptiveAvgPool2d(1),
    flatten: new Flatten(),
    log_softmax: new LogSoftmax(1),
  }).withBlocks({
    'Block 1': ['conv1', 'bn1', 'dropout1', 'relu1', 'conv2', 'bn2', 'dropout2', 'relu2', 'pool1', 'trans1'],
    'Block 2': ['conv3', 'bn3', 'dropout3', 'relu3', 'conv4', 'bn4', 'dropout4', 'relu4', 'pool2', 'trans2'],
    'Block 3': ['conv5', 'bn5', 'dropout5', 'relu5', 'conv6', 'bn6', 'dropout6', 'relu6'],
    Output: ['gap', 'flatten', 'log_softmax'],
  });
}

/**
 * The built-in default network: the seed CNN on 1x28x28 images, or on `inputShape` [C, H, W]
 * (its global average pool takes any size of at least 4x4; C sets its input channels).
 */
export function seedCnn(options: SeedCnnOptions & { inputShape?: readonly number[] } = {}): Network {
  const inputShape = options.inputShape ?? [options.inChannels ?? 1, 28, 28];
  return new Network('seed-cnn', seedCnnModule({ ...options, inChannels: inputShape[0] }), inputShape);
}
