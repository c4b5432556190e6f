/**
 * The batch worker: fills training batch k+1 (shuffled order, augmentation, dropout masks)
 * while ONNX Runtime runs batch k on the main thread, like a PyTorch DataLoader worker.
 * It fills a set of ArrayBuffers lent by the main thread and transfers them back.
 * (Started through batch-worker.mjs, which loads this file with tsx.)
 */
import { parentPort } from 'node:worker_threads';
import { BatchFiller } from './core/batch-source.js';
import { type FillRequest, splitFromShared, type WorkerInit } from './batch-prefetcher.js';

let filler: BatchFiller;

parentPort!.on('message', (message: { init?: WorkerInit; fill?: FillRequest }) => {
  try {
    if (message.init) {
      filler = new BatchFiller(splitFromShared(message.init.split), message.init);
      parentPort!.postMessage({});
    } else if (message.fill) {
      const { set, epoch, batch, step } = message.fill;
      const size = filler.fill(set, epoch, batch, step);
      parentPort!.postMessage({ set, size }, [set.images, set.labels, ...set.masks]);
    }
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
