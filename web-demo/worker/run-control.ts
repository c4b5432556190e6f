/**
 * Pause, resume and stop for a training run in a worker, applied between optimizer steps: the
 * Trainer's `fit` awaits what its `onStep` returns (`gate`: wait while paused) and ends the run
 * when its signal is aborted (`stop`).
 */

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
  private readonly aborter = new AbortController();

  constructor(private readonly events: ControlEvents) {}

  get stopped(): boolean {
    return this.aborter.signal.aborted;
  }

  /** Aborted by `stop`: give it to `fit`. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  pause(): void {
    if (this.paused || this.stopped) return;
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
    this.aborter.abort();
    this.resume();
  }

  /** Called after each step: lets messages in, and waits while paused. */
  async gate(): Promise<void> {
    await nextTask();
    if (this.paused) {
      this.events.onPaused();
      await this.paused.resumed;
      if (!this.stopped) this.events.onResumed();
    }
  }
}
