/**
 * Training batches from a worker thread, one batch ahead: while ORT runs batch k (the main
 * thread is blocked in `run`), the worker fills batch k+1 (core/batch-source.ts's BatchFiller)
 * into the other of two buffer sets. The sets are ArrayBuffers transferred back and forth
 * (no copies; ORT refuses SharedArrayBuffer-backed inputs).
 */
import { Worker } from 'node:worker_threads';
import type { Split } from '../data/dataset.js';
import { type Batch, type BatchBuffers, batchBuffers, type BatchOptions, type BatchSource, batchesPerEpoch, batchView } from './core/batch-source.js';

export interface WorkerInit extends BatchOptions {
  split: { images: SharedArrayBuffer; labels: SharedArrayBuffer; count: number; rows: number; cols: number };
}

export interface FillRequest {
  set: BatchBuffers;
  epoch: number;
  batch: number;
  step: number;
}

export interface FillReply {
  set: BatchBuffers;
  size: number;
}

function shared(bytes: Uint8Array): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(sab).set(bytes);
  return sab;
}

export class BatchPrefetcher implements BatchSource {
  private pending?: { resolve: (reply: FillReply) => void; reject: (e: Error) => void };
  /** Buffer sets not lent to the worker or to the caller. */
  private readonly free: BatchBuffers[];
  private readonly imageSize: number;

  private constructor(
    private readonly worker: Worker,
    private readonly init: WorkerInit,
  ) {
    this.imageSize = init.split.rows * init.split.cols;
    this.free = [batchBuffers(init, this.imageSize), batchBuffers(init, this.imageSize)];
    worker.on('message', (m: FillReply & { error?: string }) => {
      const p = this.pending;
      this.pending = undefined;
      if (m.error) p?.reject(new Error(`batch worker: ${m.error}`));
      else p?.resolve(m);
    });
    worker.on('error', (e: Error) => this.pending?.reject(e));
  }

  static async create(split: Split, options: BatchOptions): Promise<BatchPrefetcher> {
    const init: WorkerInit = {
      ...options,
      split: { images: shared(split.images), labels: shared(split.labels), count: split.count, rows: split.rows, cols: split.cols },
      examples: Math.min(options.examples, split.count),
    };
    // A .mjs entry that loads the .ts worker through tsx: Node's workers cannot load TypeScript themselves.
    const worker = new Worker(new URL('./batch-worker.mjs', import.meta.url));
    const prefetcher = new BatchPrefetcher(worker, init);
    await prefetcher.request({ init }, []);
    return prefetcher;
  }

  get batchesPerEpoch(): number {
    return batchesPerEpoch(this.init);
  }

  private request(message: { init?: WorkerInit; fill?: FillRequest }, transfer: ArrayBuffer[]): Promise<FillReply> {
    if (this.pending) throw new Error('batch worker: a request is already pending');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  private fill(set: BatchBuffers, epoch: number, batch: number, step: number): Promise<FillReply> {
    return this.request({ fill: { set, epoch, batch, step } }, [set.images, set.labels, ...set.masks]);
  }

  /** The next batch is being prepared while the caller works on the current one. */
  async *epoch(epoch: number, first: number, firstStep: number, last: number): AsyncGenerator<Batch> {
    const fill = (b: number) => this.fill(this.free.pop()!, epoch, b, firstStep + b - first);
    let next = first < last ? fill(first) : undefined;
    try {
      for (let b = first; b < last; b++) {
        const { set, size } = await next!;
        next = b + 1 < last ? fill(b + 1) : undefined;
        yield batchView(this.init, set, size, this.imageSize);
        this.free.push(set); // the caller is done with it once it asks for the next batch
      }
    } finally {
      if (next) this.free.push((await next).set); // a consumer that stops early leaves no request in flight
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
