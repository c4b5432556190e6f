/**
 * The training loop. One ORT session runs the training-step graph (another one the last,
 * smaller batch of an epoch); the state (parameters, optimizer buffers, BatchNorm running
 * statistics) lives in two sets of ORT tensors that take turns as inputs and preallocated
 * outputs, so no step copies the state through fresh JS arrays.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Dataset } from '../data/mnist.js';
import { serializeModel } from '../graph/serialize.js';
import { CORRECT, evalGraph, IMAGE, LOSS, LR, next, STEP, TARGET, trainStepGraph, type TrainStepGraph } from '../model/graphs.js';
import type { Network, StateDict } from '../model/network.js';
import { writeFileAtomic } from '../util/atomic.js';
import { type Batch, BatchPrefetcher } from './batches.js';
import { type Checkpoint, firstNonFinite, saveCheckpoint } from './checkpoint.js';
import type { EpochMetrics, Position, TrainConfig, TrainerState } from './config.js';
import { Evaluator } from './evaluate.js';
import { curvesPng } from './plot.js';
import { scheduledLr } from './schedule.js';
import { createSession, OPSET } from './session.js';
import { ExpectedError } from '../util/errors.js';

export type { EpochMetrics, TrainConfig } from './config.js';

export interface BatchInfo {
  epoch: number;
  batch: number;
  batches: number;
  step: number;
  loss: number;
  lr: number;
}

export interface TrainEvents {
  onEpochStart?(epoch: number, firstBatch: number, batches: number): void;
  onBatch?(info: BatchInfo): void;
  onEpochEnd?(metrics: EpochMetrics, checkpointDir: string): void;
}

/** The loss or the state stopped being finite; the last good checkpoint is kept. */
export class DivergedError extends ExpectedError {}

export type TrainCheckpoint = Checkpoint;

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Parameters, optimizer slots and buffers as two sets of ORT tensors used in turn. */
class CarriedState {
  private current = new Map<string, ort.Tensor>();
  private spare = new Map<string, ort.Tensor>();

  constructor(
    readonly names: readonly string[],
    initial: (name: string) => { shape: readonly number[]; data: Float32Array },
  ) {
    for (const name of names) {
      const { shape, data } = initial(name);
      this.current.set(name, new ort.Tensor('float32', Float32Array.from(data), shape as number[]));
      this.spare.set(name, new ort.Tensor('float32', new Float32Array(count(shape)), shape as number[]));
    }
  }

  feeds(): Record<string, ort.Tensor> {
    return Object.fromEntries(this.current);
  }

  /** Preallocated outputs: ORT writes the next state into the spare set. */
  fetches(): Record<string, ort.Tensor> {
    return Object.fromEntries([...this.spare].map(([name, t]) => [next(name), t]));
  }

  swap(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }

  /** Current values as a StateDict (views, not copies). */
  snapshot(select: (name: string) => boolean = () => true): StateDict {
    const state: StateDict = new Map();
    for (const [name, t] of this.current) {
      if (select(name)) state.set(name, { shape: t.dims, data: t.data as Float32Array });
    }
    return state;
  }
}

interface StepSession {
  graph: TrainStepGraph;
  session: ort.InferenceSession;
  loss: ort.Tensor;
  correct: ort.Tensor;
}

export class Trainer {
  private readonly sessions = new Map<number, StepSession>();
  private readonly state: CarriedState;
  private readonly metrics: EpochMetrics[];
  /** Names of the network's own state (the rest of the carried state is optimizer slots). */
  private readonly modelNames: ReadonlySet<string>;
  private position: Position;
  private lastCheckpointDir?: string;

  private constructor(
    readonly net: Network,
    readonly config: TrainConfig,
    readonly runDir: string,
    private readonly data: Dataset,
    private readonly prefetcher: BatchPrefetcher,
    private readonly evaluator: Evaluator,
    private readonly template: TrainStepGraph,
    private readonly templateBytes: Uint8Array,
    resume?: TrainCheckpoint,
  ) {
    this.modelNames = new Set(net.stateSpecs.map((s) => s.name));
    const initial = resume ? undefined : net.initialState(config.seed);
    const paramShape = new Map(net.stateSpecs.map((s) => [s.name, s.shape]));
    this.state = new CarriedState(template.carried, (name) => {
      const saved = resume?.model.get(name) ?? resume?.optimizer.get(name) ?? initial?.get(name);
      if (saved) return saved;
      if (resume) throw new Error(`${resume.dir}: the checkpoint has no '${name}'`);
      const param = name.slice(0, name.lastIndexOf('.')); // an optimizer slot starts at zero
      const shape = paramShape.get(param)!;
      return { shape, data: new Float32Array(count(shape)) };
    });
    this.metrics = resume ? [...resume.trainer.metrics] : [];
    this.position = resume ? { ...resume.trainer.position } : { epoch: 0, batch: 0, step: 0 };
    this.lastCheckpointDir = resume?.dir;
  }

  /** Builds graphs and sessions; with `resume`, continues from that checkpoint exactly. */
  static async create(net: Network, config: TrainConfig, data: Dataset, runDir: string, resume?: TrainCheckpoint): Promise<Trainer> {
    mkdirSync(runDir, { recursive: true });
    const template = trainStepGraph(net, config.batchSize, config.optimizer);
    const templateBytes = serializeModel(template.graph, { opset: OPSET });
    writeFileAtomic(join(runDir, 'train_step.onnx'), templateBytes);
    writeFileAtomic(join(runDir, 'eval.onnx'), serializeModel(evalGraph(net), { opset: OPSET }));
    const evaluator = await Evaluator.create(net, { threads: config.threads, device: config.device });
    const prefetcher = await BatchPrefetcher.create(data.train, {
      examples: config.trainLimit ?? data.train.count,
      batchSize: config.batchSize,
      seed: config.seed,
      shuffle: config.shuffle,
      augment: config.augment,
      masks: template.masks,
    });
    return new Trainer(net, config, runDir, data, prefetcher, evaluator, template, templateBytes, resume);
  }

  get stepsPerEpoch(): number {
    return this.prefetcher.batchesPerEpoch;
  }

  private async sessionFor(batch: number): Promise<StepSession> {
    let s = this.sessions.get(batch);
    if (!s) {
      const full = batch === this.template.batch;
      const graph = full ? this.template : trainStepGraph(this.net, batch, this.config.optimizer);
      const session = await createSession(full ? this.templateBytes : serializeModel(graph.graph, { opset: OPSET }), this.config);
      s = { graph, session, loss: new ort.Tensor('float32', new Float32Array(1), []), correct: new ort.Tensor('float32', new Float32Array(1), []) };
      this.sessions.set(batch, s);
    }
    return s;
  }

  private lrAt(step: number): number {
    return scheduledLr(this.config, { step, stepsPerEpoch: this.stepsPerEpoch, totalSteps: this.config.epochs * this.stepsPerEpoch });
  }

  /** One optimizer step on a prepared batch; returns the batch's mean loss and correct count. */
  private async step(batch: Batch, lr: number): Promise<{ loss: number; correct: number }> {
    const s = await this.sessionFor(batch.size);
    const { graph } = s;
    const feeds: Record<string, ort.Tensor> = {
      ...this.state.feeds(),
      [IMAGE]: new ort.Tensor('float32', batch.images, [batch.size, ...this.net.inputShape]),
      [TARGET]: new ort.Tensor('int64', batch.labels, [batch.size]),
      [LR]: new ort.Tensor('float32', Float32Array.of(lr), []),
    };
    if (this.config.optimizer.kind !== 'sgd') feeds[STEP] = new ort.Tensor('float32', Float32Array.of(this.position.step + 1), []);
    graph.masks.forEach((m, i) => (feeds[m.name] = new ort.Tensor('float32', batch.masks[i], m.shape as number[])));
    await s.session.run(feeds, { ...this.state.fetches(), [LOSS]: s.loss, [CORRECT]: s.correct });
    this.state.swap();
    return { loss: (s.loss.data as Float32Array)[0], correct: (s.correct.data as Float32Array)[0] };
  }

  private trainerState(): Omit<TrainerState, 'format' | 'files'> {
    return { position: { ...this.position }, config: this.config, metrics: this.metrics, savedAt: new Date().toISOString() };
  }

  /** What survives a failure from here: said at the end of every error that stops a run. */
  private keepNote(): string {
    return this.lastCheckpointDir ? `the last good checkpoint is ${this.lastCheckpointDir}` : 'no checkpoint was written yet';
  }

  /** Saves a checkpoint, unless the state went non-finite: a checkpoint is always one a run can continue from. */
  private checkpoint(): string {
    const model = this.modelState();
    const optimizer = this.state.snapshot((n) => !this.modelNames.has(n));
    const bad = firstNonFinite(model) ?? firstNonFinite(optimizer);
    if (bad) {
      const { epoch, step } = this.position;
      throw new DivergedError(`the training state became non-finite by epoch ${epoch + 1}, step ${step}: ${bad}; ${this.keepNote()}. Try a lower --lr.`);
    }
    const batchNorms = this.net.layers.filter((l) => l.kind === 'BatchNorm2d').map((l) => l.name);
    return this.keepingLastCheckpoint(() => saveCheckpoint(this.runDir, model, optimizer, this.trainerState(), batchNorms));
  }

  /** Runs a write; a failure (a full disk, say) also says which checkpoint is intact. */
  private keepingLastCheckpoint<T>(write: () => T): T {
    try {
      return write();
    } catch (e) {
      throw e instanceof ExpectedError ? new ExpectedError(`${e.message}; ${this.keepNote()} and intact`) : e;
    }
  }

  /** The current model state (parameters and BatchNorm statistics), as views. */
  modelState(): StateDict {
    return this.state.snapshot((n) => this.modelNames.has(n));
  }

  get history(): readonly EpochMetrics[] {
    return this.metrics;
  }

  get lastCheckpoint(): string | undefined {
    return this.lastCheckpointDir;
  }

  /** True when no step is left to run (all epochs trained, or maxSteps reached). */
  get done(): boolean {
    const { epochs, maxSteps } = this.config;
    return this.position.epoch >= epochs || (maxSteps !== undefined && this.position.step >= maxSteps);
  }

  /** Runs the remaining epochs (or up to maxSteps), checkpointing after each. */
  async run(events: TrainEvents = {}): Promise<EpochMetrics[]> {
    const { maxSteps } = this.config;
    const batches = this.stepsPerEpoch;
    while (!this.done) {
      const { epoch, batch: first } = this.position;
      const last = maxSteps === undefined ? batches : Math.min(batches, first + maxSteps - this.position.step);
      events.onEpochStart?.(epoch, first, batches);
      const started = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lr = this.lrAt(this.position.step);
      let b = first;
      for await (const batch of this.prefetcher.epoch(epoch, first, this.position.step, last)) {
        lr = this.lrAt(this.position.step);
        const r = await this.step(batch, lr);
        if (!Number.isFinite(r.loss)) {
          throw new DivergedError(
            `loss became ${r.loss} at epoch ${epoch + 1}, batch ${b}, step ${this.position.step} (lr ${lr}); ${this.keepNote()}. Try a lower --lr.`,
          );
        }
        lossSum += r.loss * batch.size;
        correct += r.correct;
        seen += batch.size;
        this.position.step++;
        b++;
        events.onBatch?.({ epoch, batch: b - 1, batches, step: this.position.step, loss: r.loss, lr });
      }
      const trainSeconds = (performance.now() - started) / 1000;
      const evalStarted = performance.now();
      const test = await this.evaluator.evaluate(this.modelState(), this.data.test, { limit: this.config.testLimit });
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        batches: b - first,
        step: this.position.step,
        lr,
        train_loss: lossSum / Math.max(seen, 1),
        train_acc: correct / Math.max(seen, 1),
        test_loss: test.loss,
        test_acc: test.correct / test.count,
        test_correct: test.correct,
        test_count: test.count,
        train_seconds: trainSeconds,
        test_seconds: (performance.now() - evalStarted) / 1000,
      };
      this.metrics.push(metrics);
      this.position = b >= batches ? { epoch: epoch + 1, batch: 0, step: this.position.step } : { epoch, batch: b, step: this.position.step };
      this.lastCheckpointDir = this.checkpoint();
      await this.writeRunFiles();
      events.onEpochEnd?.(metrics, this.lastCheckpointDir);
    }
    return this.metrics;
  }

  /** metrics.jsonl (one line per epoch) and curves.png, rewritten whole each epoch. */
  private async writeRunFiles(): Promise<void> {
    const files: [string, () => Promise<string | Uint8Array>][] = [
      ['metrics.jsonl', async () => this.metrics.map((m) => `${JSON.stringify(m)}\n`).join('')],
      ['curves.png', () => curvesPng(this.metrics)],
    ];
    for (const [name, contents] of files) {
      const data = await contents();
      this.keepingLastCheckpoint(() => writeFileAtomic(join(this.runDir, name), data));
    }
  }

  async close(): Promise<void> {
    await this.prefetcher.close();
    await this.evaluator.release();
    for (const s of this.sessions.values()) await s.session.release();
  }
}
