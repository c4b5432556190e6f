/**
 * Pause, resume and stop for a training run in a worker, applied between optimizer steps: the
 * core's loop pulls its batches from a BatchSource, so a source that waits (pause) or throws
 * (stop) before handing over the next batch controls the run without the core knowing.
 */
import type { Batch, BatchSource } from '../../src/train/core/batch-source.js';

/** Thrown into the training loop by the batch source when the run is stopped. */
export class StoppedError extends Error {
  constructor() {
    super('stopped');
    this.name = 'StoppedError';
  }
}

/**
 * Resolves in a new task. A training step's awaits are all microtasks, so without this a
 * worker running steps back to back would never get to its 'pause' or 'stop' message.
 */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

export interface ControlEvents {
  /** The run has reached a step boundary and waits. */
  onPaused(): void;
  onResumed(): void;
}

export class RunControl {
  private paused: { resumed: Promise<void>; resume(): void } | null = null;
  private stopRequested = false;

  constructor(private readonly events: ControlEvents) {}

  get stopped(): boolean {
    return this.stopRequested;
  }

  pause(): void {
    if (this.paused || this.stopRequested) return;
    let resume = () => {};
    const resumed = new Promise<void>((r) => (resume = r));
    this.paused = { resumed, resume };
  }

  resume(): void {
    const paused = this.paused;
    this.paused = null;
    paused?.resume();
  }

  stop(): void {
    this.stopRequested = true;
    this.resume();
  }

  /** Called before each step: lets messages in, waits while paused, throws once stopped. */
  async gate(): Promise<void> {
    await nextTask();
    if (this.paused) {
      this.events.onPaused();
      await this.paused.resumed;
      if (!this.stopRequested) this.events.onResumed();
    }
    if (this.stopRequested) throw new StoppedError();
  }
}

/**
 * A BatchSource that passes `control`'s gate before each batch and notes when each step
 * starts (so a step's time excludes pauses and evaluations) and when an epoch's batches
 * have run out (the loop evaluates next).
 */
export class ControlledBatches implements BatchSource {
  /** performance.now() when the current step passed the gate. */
  stepStartedAt = 0;

  constructor(
    private readonly inner: BatchSource,
    private readonly control: RunControl,
    private readonly onEpochDone: () => void,
  ) {}

  get batchesPerEpoch(): number {
    return this.inner.batchesPerEpoch;
  }

  async *epoch(epoch: number, first: number, firstStep: number, last: number): AsyncGenerator<Batch> {
    const batches = this.inner.epoch(epoch, first, firstStep, last)[Symbol.asyncIterator]();
    try {
      for (let b = first; b < last; b++) {
        await this.control.gate();
        this.stepStartedAt = performance.now();
        const next = await batches.next();
        if (next.done) break;
        yield next.value;
      }
    } finally {
      await batches.return?.();
    }
    this.onEpochDone();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
