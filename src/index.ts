/**
 * The pure entry, `onnx-mnist-train`: what a model file imports (`import { Sequential, Conv2d }
 * from 'onnx-mnist-train'`). Layers named and shaped as in torch.nn; Module, Parameter and
 * StateBuffer to write a layer of one's own; `op`, the graph ops its forward emits with
 * (`op.conv(x, w, b, { strides })`, each with its gradient rule); the data and recipe types the
 * trainers take, and the helpers that make them. No Node module and no ONNX Runtime: the pages
 * bundle it, and `onnx-mnist-train/node` and `/web` add a Trainer on their runtime.
 */
export * from './model/layers/index.js';
export {
  type Context,
  type Init,
  LayerInputError,
  type Mode,
  Module,
  Parameter,
  StateBuffer,
  StateEntry,
} from './model/module.js';
export { Network, NetworkError } from './model/network.js';
export { seedCnn, seedCnnModule } from './model/seed-cnn.js';
export type { Tensor } from './graph/builder.js';
export type { Shape } from './graph/shape.js';
export * as op from './graph/ops/index.js';
export type { ByteSplit, ClassLabels, Dataset, Split } from './data/dataset.js';
export { IDENTITY_NORMALIZATION, MNIST_NORMALIZATION, type Normalization, normalization } from './data/normalize.js';
export { DIGITS, MNIST_FILES, splitFromIdx } from './data/mnist-format.js';
export { DataError, parseIdx } from './data/idx-format.js';
export { type CsvOptions, splitFromCsv } from './data/csv-format.js';
export { CIFAR10_CLASSES, splitFromCifar } from './data/cifar-format.js';
export type { AugmentOptions } from './data/augment.js';
export type { OptimizerOptions } from './graph/optim.js';
export { LOSS_KINDS, type LossKind } from './model/loss.js';
export type { EpochMetrics, TrainConfig } from './train/core/config.js';
export { DEFAULT_RECIPE } from './train/core/recipe.js';
export type { Schedule } from './train/core/schedule.js';
export type { StepInfo } from './train/core/training-loop.js';
export type { StepResult } from './train/core/stepper.js';
export { ExpectedError } from './util/errors.js';
