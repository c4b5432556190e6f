/**
 * Training batches from a worker thread, one batch ahead: while ORT runs batch k (the main
 * thread is blocked in `run`), the worker fills batch k+1 (core/batch-source.ts's BatchFiller)
 * into the other of two buffer sets. The sets are ArrayBuffers transferred back and forth
 * (no copies; ORT refuses SharedArrayBuffer-backed inputs).
 */
import { Worker } from 'node:worker_threads';
import { exampleSize, type Split } from '../data/dataset.js';
import {
  type Batch,
  type BatchBuffers,
  batchBuffers,
  type BatchOptions,
  type BatchSource,
  batchesPerEpoch,
  batchView,
} from './core/batch-source.js';

/** A split as the worker receives it: its arrays in shared memory (read, never copied), their types by name. */
export interface SharedSplit extends Omit<Split, 'images' | 'labels'> {
  images: SharedArrayBuffer;
  imageType: 'Uint8Array' | 'Float32Array';
  labels: SharedArrayBuffer;
  labelType: 'Uint8Array' | 'Uint16Array' | 'Uint32Array' | 'Int32Array' | 'Float32Array';
}

export interface WorkerInit extends BatchOptions {
  split: SharedSplit;
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

function shared(array: ArrayBufferView): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(array.byteLength);
  new Uint8Array(sab).set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return sab;
}

/** The labels' array type (a Node Buffer counts as the Uint8Array it is). */
function labelTypeOf(labels: Split['labels']): SharedSplit['labelType'] {
  if (labels instanceof Uint8Array) return 'Uint8Array';
  if (labels instanceof Uint16Array) return 'Uint16Array';
  if (labels instanceof Uint32Array) return 'Uint32Array';
  if (labels instanceof Int32Array) return 'Int32Array';
  return 'Float32Array';
}

/** The split in shared memory, for the worker. */
function sharedSplit(split: Split): SharedSplit {
  return {
    ...split,
    images: shared(split.images),
    imageType: split.images instanceof Uint8Array ? 'Uint8Array' : 'Float32Array',
    labels: shared(split.labels),
    labelType: labelTypeOf(split.labels),
  };
}

/** The typed array of `type` over shared memory. */
function viewOf(type: SharedSplit['labelType'], buffer: SharedArrayBuffer): Split['labels'] {
  switch (type) {
    case 'Uint8Array':
      return new Uint8Array(buffer);
    case 'Uint16Array':
      return new Uint16Array(buffer);
    case 'Uint32Array':
      return new Uint32Array(buffer);
    case 'Int32Array':
      return new Int32Array(buffer);
    case 'Float32Array':
      return new Float32Array(buffer);
  }
}

/** The worker's view of a shared split. */
export function splitFromShared(s: SharedSplit): Split {
  const images = s.imageType === 'Uint8Array' ? new Uint8Array(s.images) : new Float32Array(s.images);
  return { count: s.count, shape: s.shape, images, labels: viewOf(s.labelType, s.labels) };
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
    this.imageSize = exampleSize(init.split);
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
      split: sharedSplit(split),
      examples: Math.min(options.examples, split.count),
    };
    // Built (dist/), the worker is batch-worker.js; from source, a .mjs entry loads the .ts worker
    // through tsx: Node's workers cannot load TypeScript themselves.
    const worker = new Worker(
      new URL(import.meta.url.endsWith('.ts') ? './batch-worker.mjs' : './batch-worker.js', import.meta.url),
    );
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
    const fill = (b: number) => {
      const set = this.free.pop();
      if (!set) throw new Error('batch worker: no buffer set is free (two epochs read at once)');
      return this.fill(set, epoch, b, firstStep + b - first);
    };
    let next = first < last ? fill(first) : undefined;
    try {
      for (let b = first; next !== undefined; b++) {
        const { set, size } = await next;
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
