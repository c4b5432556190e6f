/**
 * The batch worker: fills training batch k+1 (shuffled order, augmentation, dropout masks)
 * while ONNX Runtime runs batch k on the main thread, like a PyTorch DataLoader worker.
 * It fills a set of ArrayBuffers lent by the main thread and transfers them back.
 * (Started through batch-worker.mjs, which loads this file with tsx.)
 */
import { parentPort } from 'node:worker_threads';
import { BatchFiller } from './core/batch-source.js';
import { type FillRequest, splitFromShared, type WorkerInit } from './batch-prefetcher.js';
import { messageOf } from '../util/errors.js';

const port = parentPort;
if (!port) throw new Error('batch-worker.ts runs in a worker thread (started through batch-worker.mjs)');
let filler: BatchFiller;

port.on('message', (message: { init?: WorkerInit; fill?: FillRequest }) => {
  try {
    if (message.init) {
      filler = new BatchFiller(splitFromShared(message.init.split), message.init);
      port.postMessage({});
    } else if (message.fill) {
      const { set, epoch, batch, step } = message.fill;
      const size = filler.fill(set, epoch, batch, step);
      port.postMessage({ set, size }, [set.images, set.labels, ...set.masks]);
    }
  } catch (e) {
    port.postMessage({ error: messageOf(e) });
  }
});
