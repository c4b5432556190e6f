/**
 * The training loop: epochs of batches through a Stepper, runtime-neutral (nothing from Node,
 * nothing from a particular ONNX Runtime build). Per batch: the scheduled learning rate, one
 * step, the caller's `onStep` (awaited: a page pauses there). Per epoch (or where a step limit
 * ends one): evaluation when there is a validation split, the epoch's metrics, a snapshot
 * handed to `save` when the caller keeps them. An aborted signal ends the run between steps.
 *
 * The loop is made for one run of epochs (a Trainer's `fit`); what lasts between runs, the
 * position and the metrics so far, lives in a `Progress` the caller owns.
 */
import type { Split } from '../../data/dataset.js';
import type { StateDict } from '../../model/state-dict.js';
import { firstNonFinite } from '../../model/state-dict.js';
import { ExpectedError } from '../../util/errors.js';
import type { BatchSource } from './batch-source.js';
import type { EpochMetrics, Position, TrainConfig } from './config.js';
import type { EvalResult, Evaluator } from './evaluator.js';
import { scheduledLr } from './schedule.js';
import type { Stepper, StepResult } from './stepper.js';

/** One optimizer step, as `onStep` sees it. */
export interface StepInfo {
  /** Epoch (0-based) and batch within it (0-based) of this step. */
  epoch: number;
  batch: number;
  batches: number;
  /** Optimizer steps taken so far, this one included. */
  step: number;
  loss: number;
  /** Classification losses: examples of the batch whose highest output is their label. */
  correct?: number;
  lr: number;
  /** Wall time of this step: making the batch and running the graph (time in `onStep` excluded). */
  ms: number;
}

export interface TrainEvents {
  onEpochStart?(epoch: number, firstBatch: number, batches: number): void;
  /** After each step; a returned promise is awaited before the next (a page's pause). */
  onStep?(info: StepInfo): void | Promise<void>;
  /** An epoch's batches are done and `count` validation examples are about to be evaluated. */
  onEvaluating?(count: number): void;
  /** After each epoch's evaluation and snapshot; `savedAt` is where `save` put it, if anywhere. */
  onEpoch?(metrics: EpochMetrics, savedAt: string | undefined): void | Promise<void>;
}

/** The loss or the state stopped being finite; the last good snapshot is kept. */
export class DivergedError extends ExpectedError {}

/**
 * The model itself is broken, not the training: its loss was not finite at the first step, before
 * any update, or its evaluation was not finite where training's loss was.
 */
export class BrokenModelError extends DivergedError {}

/** A run's whole state at an epoch's end, as handed to `save`. */
export interface Snapshot {
  /** The live weights and BatchNorm statistics. */
  model: StateDict;
  optimizer: StateDict;
  /** The moving average of `model` (same names), when the run keeps one. */
  average?: StateDict;
  position: Position;
  config: TrainConfig;
  metrics: readonly EpochMetrics[];
}

/** What lasts between runs of the loop: where training is, what it measured, where it last saved. */
export interface Progress {
  position: Position;
  metrics: EpochMetrics[];
  lastSaved?: string;
}

export interface LoopServices {
  batches: BatchSource;
  /** Evaluated after each epoch, with `evaluator`. */
  validation?: { split: Split; evaluator: Evaluator; limit?: number };
  /** Persists a snapshot after each epoch; returns where it went (a checkpoint folder, ...). */
  save?(snapshot: Snapshot): string | Promise<string>;
  signal?: AbortSignal;
}

/** Where a run of the loop stops: at the end of epoch `epochs` (0-based count), or at `maxSteps` steps in all. */
export interface RunLimit {
  epochs: number;
  maxSteps?: number;
}

/** Sums over the batches of one epoch. */
interface EpochProgress {
  epoch: number;
  first: number;
  next: number;
  lossSum: number;
  correct: number;
  counted: boolean;
  seen: number;
  lr: number;
  seconds: number;
}

/** Adds one step's loss and correct answers, over `size` examples, to the epoch's sums. */
function tally(p: EpochProgress, r: StepResult, size: number): void {
  p.lossSum += r.loss * size;
  if (r.correct !== undefined) {
    p.correct += r.correct;
    p.counted = true;
  }
  p.seen += size;
}

export class TrainingLoop {
  private stopped = false;

  constructor(
    private readonly stepper: Stepper,
    private readonly progress: Progress,
    private readonly services: LoopServices,
    private readonly limit: RunLimit,
  ) {}

  private get config(): TrainConfig {
    return this.stepper.config;
  }

  get stepsPerEpoch(): number {
    return this.services.batches.batchesPerEpoch;
  }

  /** True when no step is left to run (the limit reached, or the run stopped). */
  get done(): boolean {
    const { position } = this.progress;
    return (
      this.stopped ||
      position.epoch >= this.limit.epochs ||
      (this.limit.maxSteps !== undefined && position.step >= this.limit.maxSteps)
    );
  }

  /** What survives a failure from here: said at the end of every error that stops a run. */
  keepNote(): string {
    return this.progress.lastSaved
      ? `the last good checkpoint is ${this.progress.lastSaved}`
      : 'no checkpoint was written yet';
  }

  private lrAt(step: number): number {
    return scheduledLr(this.config, {
      step,
      stepsPerEpoch: this.stepsPerEpoch,
      totalSteps: this.config.epochs * this.stepsPerEpoch,
    });
  }

  /** The remaining batches of the current epoch (up to the step limit, or until aborted). */
  private async trainEpoch(events: TrainEvents): Promise<EpochProgress> {
    const { position } = this.progress;
    const { epoch, batch: first } = position;
    const batches = this.stepsPerEpoch;
    const { maxSteps } = this.limit;
    const last = maxSteps === undefined ? batches : Math.min(batches, first + maxSteps - position.step);
    events.onEpochStart?.(epoch, first, batches);
    const started = performance.now();
    const p: EpochProgress = {
      epoch,
      first,
      next: first,
      lossSum: 0,
      correct: 0,
      counted: false,
      seen: 0,
      lr: this.lrAt(position.step),
      seconds: 0,
    };
    let stepStarted = performance.now();
    for await (const batch of this.services.batches.epoch(epoch, first, position.step, last)) {
      if (this.services.signal?.aborted) {
        this.stopped = true;
        break;
      }
      const lr = this.lrAt(position.step);
      p.lr = lr;
      const r = await this.stepper.step(batch, lr, position.step);
      if (!Number.isFinite(r.loss)) throw this.lossError(r.loss, p, lr);
      tally(p, r, batch.size);
      position.step++;
      const info: StepInfo = {
        epoch,
        batch: p.next,
        batches,
        step: position.step,
        loss: r.loss,
        lr,
        ms: performance.now() - stepStarted,
      };
      if (r.correct !== undefined) info.correct = r.correct;
      p.next++;
      await events.onStep?.(info);
      stepStarted = performance.now();
    }
    p.seconds = (performance.now() - started) / 1000;
    return p;
  }

  /** Why the run stops at a step whose loss is not finite. */
  private lossError(loss: number, p: EpochProgress, lr: number): DivergedError {
    const { step } = this.progress.position;
    // A step's loss is computed before its update: at the first step no learning rate has acted yet.
    const where = `loss became ${loss} at epoch ${p.epoch + 1}, batch ${p.next}, step ${step} (lr ${lr})`;
    if (step === 0) {
      return new BrokenModelError(
        `${where}: the model gives non-finite outputs from its initial weights, before any update; ${this.keepNote()}`,
      );
    }
    return new DivergedError(`${where}; ${this.keepNote()}. Try a lower --lr.`);
  }

  /** Evaluation, metrics, the new position, and a saved snapshot (never one with a non-finite value). */
  private async endEpoch(p: EpochProgress, events: TrainEvents): Promise<{ metrics: EpochMetrics; savedAt?: string }> {
    const { position } = this.progress;
    const evalStarted = performance.now();
    const { validation } = this.services;
    if (validation) events.onEvaluating?.(Math.min(validation.limit ?? validation.split.count, validation.split.count));
    const test: EvalResult | undefined =
      validation &&
      (await validation.evaluator.evaluate(this.stepper.modelState(), validation.split, { limit: validation.limit }));
    if (test && !Number.isFinite(test.loss)) {
      // The training loss was finite: what fails is the model's own evaluation form (the CLI names its file).
      throw new BrokenModelError(
        `the validation loss became ${test.loss} after epoch ${p.epoch + 1}, step ${position.step}: ` +
          `the evaluated model gives non-finite outputs; ${this.keepNote()}`,
      );
    }
    // In the schema's order: checkpoints keep it (zod writes what it parses in that order), metrics.jsonl too.
    const metrics: EpochMetrics = {
      epoch: p.epoch + 1,
      batches: p.next - p.first,
      step: position.step,
      lr: p.lr,
      train_loss: p.lossSum / Math.max(p.seen, 1),
      ...(p.counted && { train_acc: p.correct / Math.max(p.seen, 1) }),
      ...(test && { test_loss: test.loss }),
      ...(test?.correct !== undefined && { test_acc: test.correct / test.count, test_correct: test.correct }),
      ...(test && { test_count: test.count }),
      train_seconds: p.seconds,
      ...(test && { test_seconds: (performance.now() - evalStarted) / 1000 }),
    };
    this.progress.metrics.push(metrics);
    const { step } = position;
    this.progress.position =
      p.next >= this.stepsPerEpoch ? { epoch: p.epoch + 1, batch: 0, step } : { epoch: p.epoch, batch: p.next, step };
    const snapshot = this.snapshot();
    const bad =
      firstNonFinite(snapshot.model) ??
      firstNonFinite(snapshot.optimizer) ??
      (snapshot.average && firstNonFinite(snapshot.average));
    if (bad) {
      throw new DivergedError(
        `the training state became non-finite by epoch ${p.epoch + 1}, step ${step}: ${bad}; ` +
          `${this.keepNote()}. Try a lower --lr.`,
      );
    }
    if (this.services.save) this.progress.lastSaved = await this.services.save(snapshot);
    return { metrics, savedAt: this.services.save && this.progress.lastSaved };
  }

  /** The run's state now, as views (the next step overwrites them). */
  private snapshot(): Snapshot {
    const snapshot: Snapshot = {
      model: this.stepper.liveState(),
      optimizer: this.stepper.optimizerState(),
      position: { ...this.progress.position },
      config: this.config,
      metrics: this.progress.metrics,
    };
    const average = this.stepper.averageState();
    if (average) snapshot.average = average;
    return snapshot;
  }

  /** Runs epochs up to the limit (or until aborted), evaluating and saving after each; true when it was aborted. */
  async run(events: TrainEvents = {}): Promise<boolean> {
    while (!this.done) {
      const p = await this.trainEpoch(events);
      if (p.next === p.first) break; // aborted before its first step: nothing to evaluate or save
      const { metrics, savedAt } = await this.endEpoch(p, events);
      await events.onEpoch?.(metrics, savedAt);
    }
    return this.stopped;
  }
}
