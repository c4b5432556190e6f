/**
 * Training batches from a worker thread, one batch ahead: while ORT runs batch k (the main
 * thread is blocked in `run`), the worker shuffles, augments and draws the dropout masks of
 * batch k+1 into the other of two buffer sets. The sets are ArrayBuffers transferred back
 * and forth (no copies; ORT refuses SharedArrayBuffer-backed inputs). Every draw is a
 * function of (seed, epoch or step), so batches depend neither on timing nor on a resume.
 */
import { Worker } from 'node:worker_threads';
import type { AugmentOptions } from '../data/augment.js';
import type { Split } from '../data/mnist.js';

export interface BufferSet {
  images: ArrayBuffer;
  labels: ArrayBuffer;
  masks: ArrayBuffer[];
}

export interface BatchOptions {
  /** Train on the first `examples` images of the split. */
  examples: number;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  augment: AugmentOptions | null;
  /** Dropout masks as shaped for a full batch. */
  masks: { shape: readonly number[]; p: number }[];
}

export interface WorkerInit extends BatchOptions {
  split: { images: SharedArrayBuffer; labels: SharedArrayBuffer; count: number; rows: number; cols: number };
}

export interface FillRequest {
  set: BufferSet;
  epoch: number;
  batch: number;
  step: number;
}

export interface FillReply {
  set: BufferSet;
  size: number;
}

/** One batch, as views sized to `size` examples. */
export interface Batch {
  size: number;
  images: Float32Array;
  labels: BigInt64Array;
  masks: Float32Array[];
}

function shared(bytes: Uint8Array): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(sab).set(bytes);
  return sab;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class BatchPrefetcher {
  private pending?: { resolve: (reply: FillReply) => void; reject: (e: Error) => void };
  /** Buffer sets not lent to the worker or to the caller. */
  private readonly free: BufferSet[];

  private constructor(
    private readonly worker: Worker,
    private readonly init: WorkerInit,
  ) {
    const imageSize = init.split.rows * init.split.cols;
    const set = (): BufferSet => ({
      images: new ArrayBuffer(init.batchSize * imageSize * 4),
      labels: new ArrayBuffer(init.batchSize * 8),
      masks: init.masks.map((m) => new ArrayBuffer(numel(m.shape) * 4)),
    });
    this.free = [set(), set()];
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
    const worker = new Worker(new URL('./batch-worker.mjs', import.meta.url));
    const prefetcher = new BatchPrefetcher(worker, init);
    await prefetcher.request({ init }, []);
    return prefetcher;
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.init.examples / this.init.batchSize);
  }

  /** Size of batch `b` of an epoch (the last one may be smaller). */
  batchSize(b: number): number {
    return Math.min(this.init.batchSize, this.init.examples - b * this.init.batchSize);
  }

  private request(message: { init?: WorkerInit; fill?: FillRequest }, transfer: ArrayBuffer[]): Promise<FillReply> {
    if (this.pending) throw new Error('batch worker: a request is already pending');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  private fill(set: BufferSet, epoch: number, batch: number, step: number): Promise<FillReply> {
    return this.request({ fill: { set, epoch, batch, step } }, [set.images, set.labels, ...set.masks]);
  }

  private view(buffers: BufferSet, size: number): Batch {
    const perExample = (shape: readonly number[]) => numel(shape) / shape[0];
    return {
      size,
      images: new Float32Array(buffers.images, 0, size * this.init.split.rows * this.init.split.cols),
      labels: new BigInt64Array(buffers.labels, 0, size),
      masks: this.init.masks.map((m, i) => new Float32Array(buffers.masks[i], 0, size * perExample(m.shape))),
    };
  }

  /**
   * The batches of `epoch` from batch `first` on; batch b is optimizer step `firstStep + b - first`.
   * The next batch is being prepared while the caller works on the current one.
   */
  async *epoch(epoch: number, first: number, firstStep: number, last = this.batchesPerEpoch): AsyncGenerator<Batch> {
    const fill = (b: number) => this.fill(this.free.pop()!, epoch, b, firstStep + b - first);
    let next = first < last ? fill(first) : undefined;
    try {
      for (let b = first; b < last; b++) {
        const { set, size } = await next!;
        next = b + 1 < last ? fill(b + 1) : undefined;
        yield this.view(set, size);
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
