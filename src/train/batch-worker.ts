/**
 * The batch worker: builds training batch k+1 (shuffled order, augmentation, dropout masks)
 * while ONNX Runtime runs batch k on the main thread, like a PyTorch DataLoader worker.
 * It fills a set of ArrayBuffers lent by the main thread and transfers them back.
 */
import { parentPort } from 'node:worker_threads';
import { epochOrder, fillAugmentedImages, fillImages, fillLabels } from '../data/batches.js';
import type { Split } from '../data/mnist.js';
import { fillStepMasks } from './dropout-masks.js';
import type { FillRequest, WorkerInit } from './batches.js';

let init: WorkerInit;
let split: Split;
let order: { epoch: number; indices: Uint32Array } | undefined;

function fill({ set, epoch, batch, step }: FillRequest): number {
  if (!order || order.epoch !== epoch) {
    order = { epoch, indices: epochOrder(init.examples, init.seed, epoch, init.shuffle) };
  }
  const start = batch * init.batchSize;
  const size = Math.min(init.batchSize, init.examples - start);
  const images = new Float32Array(set.images);
  if (init.augment) fillAugmentedImages(split, order.indices, start, size, images, init.augment, init.seed, step);
  else fillImages(split, start, size, images, order.indices);
  fillLabels(split, start, size, new BigInt64Array(set.labels), order.indices);
  const perExample = (shape: readonly number[]) => shape.slice(1).reduce((a, b) => a * b, 1);
  const masks = init.masks.map((m, i) => ({ data: new Float32Array(set.masks[i], 0, size * perExample(m.shape)), p: m.p }));
  fillStepMasks(masks, init.seed, step);
  return size;
}

parentPort!.on('message', (message: { init?: WorkerInit; fill?: FillRequest }) => {
  try {
    if (message.init) {
      init = message.init;
      split = { ...init.split, images: new Uint8Array(init.split.images), labels: new Uint8Array(init.split.labels) };
      parentPort!.postMessage({});
    } else if (message.fill) {
      const { set } = message.fill;
      parentPort!.postMessage({ set, size: fill(message.fill) }, [set.images, set.labels, ...set.masks]);
    }
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
