/**
 * The training loop, runtime-neutral: it imports nothing from Node and nothing from a
 * particular ONNX Runtime build, so onnxruntime-node and onnxruntime-web run the same code.
 * Per batch: feed the state, the batch, its dropout masks and the scheduled learning rate to
 * the training-step graph, which returns the loss and the next state (forward, backward and
 * update in one `run`). Per epoch: evaluate, record metrics, hand a snapshot to `save`.
 *
 * The state (parameters, optimizer slots, BatchNorm statistics; its layout is the graph's
 * `carried` list) lives in two sets of runtime tensors that take turns as inputs and
 * preallocated outputs, so no step copies it through fresh arrays.
 */
import type { Split } from '../../data/dataset.js';
import { serializeModel } from '../../graph/serialize.js';
import { numel } from '../../graph/shape.js';
import { AVERAGE_DECAY, CORRECT, type CarriedEntry, IMAGE, LOSS, LR, next, STEP, TARGET, trainStepGraph, type TrainStepGraph } from '../../model/graphs.js';
import { firstNonFinite, type Network, type StateDict } from '../../model/network.js';
import { ExpectedError } from '../../util/errors.js';
import type { EpochMetrics, Position, TrainConfig } from './config.js';
import type { Batch, BatchSource } from './batch-source.js';
import { type EvalResult, Evaluator } from './evaluator.js';
import { OPSET } from './opset.js';
import { type InferenceSession, modelFor, type Runtime, type Tensor } from './runtime.js';
import { averageDecay, scheduledLr } from './schedule.js';

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
  onEpochEnd?(metrics: EpochMetrics, savedAt: string): void;
}

/** The loss or the state stopped being finite; the last good checkpoint is kept. */
export class DivergedError extends ExpectedError {}

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

/** Where a run continues from: a saved snapshot and the name it was saved under. */
export interface ResumePoint {
  model: StateDict;
  optimizer: StateDict;
  average?: StateDict;
  position: Position;
  metrics: readonly EpochMetrics[];
  savedAt: string;
}

/** What stepping needs: the runtime. A loop made with these alone only steps (`step`), as a fine-tune does. */
export interface StepServices {
  runtime: Runtime;
}

/** What running epochs needs as well: the batches, the test split, and where snapshots go. */
export interface LoopServices extends StepServices {
  batches: BatchSource;
  /** The test split evaluated after each epoch. */
  test: Split;
  /** Persists a snapshot; returns where it went (a checkpoint folder, a download name...). */
  save(snapshot: Snapshot): string | Promise<string>;
}

const runsEpochs = (s: StepServices | LoopServices): s is LoopServices => 'batches' in s;

/** The carried state as two sets of runtime tensors used in turn. */
class CarriedState {
  private current = new Map<string, Tensor>();
  private spare = new Map<string, Tensor>();

  constructor(
    readonly layout: readonly CarriedEntry[],
    runtime: Runtime,
    initial: (entry: CarriedEntry) => Float32Array,
  ) {
    for (const entry of layout) {
      this.current.set(entry.name, runtime.float32(Float32Array.from(initial(entry)), entry.shape));
      this.spare.set(entry.name, runtime.float32(new Float32Array(numel(entry.shape)), entry.shape));
    }
  }

  feeds(): Record<string, Tensor> {
    return Object.fromEntries(this.current);
  }

  /** Preallocated outputs: the runtime writes the next state into the spare set. */
  fetches(): Record<string, Tensor> {
    return Object.fromEntries([...this.spare].map(([name, t]) => [next(name), t]));
  }

  swap(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }

  /**
   * Current values of the entries `select` picks, as a StateDict (views, not copies), under
   * their own names or, with `named`, others (an average under the name it averages).
   */
  snapshot(select: (entry: CarriedEntry) => boolean, named: (entry: CarriedEntry) => string = (e) => e.name): StateDict {
    const state: StateDict = new Map();
    for (const entry of this.layout) {
      if (select(entry)) state.set(named(entry), { shape: entry.shape, data: this.current.get(entry.name)!.data as Float32Array });
    }
    return state;
  }
}

interface StepSession {
  graph: TrainStepGraph;
  session: InferenceSession;
  loss: Tensor;
  correct: Tensor;
}

/** Sums over the batches of one epoch. */
interface EpochProgress {
  epoch: number;
  first: number;
  next: number;
  lossSum: number;
  correct: number;
  seen: number;
  lr: number;
  seconds: number;
}

/** The training-step graph a run's recipe asks for, at one batch size. */
const stepGraph = (net: Network, config: TrainConfig, batch: number, portable = false): TrainStepGraph =>
  trainStepGraph(net, batch, config.optimizer, { average: config.average !== undefined, portable });

const isModelState = (e: CarriedEntry) => e.role === 'parameter' || e.role === 'buffer';
const isAverage = (e: CarriedEntry) => e.role === 'average';
const averaged = (e: CarriedEntry) => (e.role === 'average' ? e.of : e.name);

export class TrainingLoop {
  private readonly sessions = new Map<number, StepSession>();
  private readonly state: CarriedState;
  private readonly metrics: EpochMetrics[];
  private position: Position;
  private lastSaved?: string;

  private constructor(
    readonly net: Network,
    readonly config: TrainConfig,
    private readonly services: StepServices | LoopServices,
    /** Present when the loop runs epochs (it evaluates after each). */
    private readonly evaluator: Evaluator | undefined,
    private readonly template: TrainStepGraph,
    /** The full-batch training-step graph, serialised as built (a run folder keeps a copy; the runtime may run it lowered). */
    readonly trainStepModel: Uint8Array,
    resume?: ResumePoint,
  ) {
    const initial = resume ? undefined : net.initialState(config.seed);
    this.state = new CarriedState(template.carried, services.runtime, (entry) => {
      const saved =
        entry.role === 'optimizer'
          ? resume?.optimizer.get(entry.name)
          : entry.role === 'average'
            ? (resume ? resume.average : initial)?.get(entry.of) // an average starts at the initial state
            : (resume?.model ?? initial)?.get(entry.name);
      if (saved) return saved.data;
      if (resume) throw new Error(`${resume.savedAt}: the checkpoint has no '${averaged(entry)}'${entry.role === 'average' ? ' average' : ''}`);
      return new Float32Array(numel(entry.shape)); // optimizer slots start at zero
    });
    this.metrics = resume ? [...resume.metrics] : [];
    this.position = resume ? { ...resume.position } : { epoch: 0, batch: 0, step: 0 };
    this.lastSaved = resume?.savedAt;
  }

  /** Builds the graphs and sessions; with `resume`, continues from that point exactly. */
  static async create(net: Network, config: TrainConfig, services: StepServices | LoopServices, resume?: ResumePoint): Promise<TrainingLoop> {
    const template = stepGraph(net, config, config.batchSize, services.runtime.portable);
    const bytes = serializeModel(template.graph, { opset: OPSET });
    const evaluator = runsEpochs(services) ? await Evaluator.create(net, services.runtime) : undefined;
    return new TrainingLoop(net, config, services, evaluator, template, bytes, resume);
  }

  /** The carried state's names, in the step's input order (parameters, optimizer slots, buffers, averages). */
  get carriedNames(): string[] {
    return this.template.carried.map((e) => e.name);
  }

  get stepsPerEpoch(): number {
    return this.epochServices().batches.batchesPerEpoch;
  }

  private epochServices(): LoopServices {
    if (!runsEpochs(this.services)) throw new Error('this TrainingLoop was made to step only (no batches, test split or save)');
    return this.services;
  }

  get history(): readonly EpochMetrics[] {
    return this.metrics;
  }

  /** Where the newest snapshot was saved, if any. */
  get lastSavedAt(): string | undefined {
    return this.lastSaved;
  }

  /** True when no step is left to run (all epochs trained, or maxSteps reached). */
  get done(): boolean {
    const { epochs, maxSteps } = this.config;
    return this.position.epoch >= epochs || (maxSteps !== undefined && this.position.step >= maxSteps);
  }

  /** What survives a failure from here: said at the end of every error that stops a run. */
  keepNote(): string {
    return this.lastSaved ? `the last good checkpoint is ${this.lastSaved}` : 'no checkpoint was written yet';
  }

  /**
   * The network's state (parameters and BatchNorm statistics) as the run evaluates and
   * exports it, as views: the moving average when the run keeps one, else the live weights.
   */
  modelState(): StateDict {
    return this.averageState() ?? this.state.snapshot(isModelState);
  }

  /** The moving average of the model state under the names it averages, when the run keeps one. */
  private averageState(): StateDict | undefined {
    return this.config.average && this.state.snapshot(isAverage, averaged);
  }

  private lrAt(step: number): number {
    return scheduledLr(this.config, { step, stepsPerEpoch: this.stepsPerEpoch, totalSteps: this.config.epochs * this.stepsPerEpoch });
  }

  private async sessionFor(batch: number): Promise<StepSession> {
    let s = this.sessions.get(batch);
    if (!s) {
      const graph = batch === this.template.batch ? this.template : stepGraph(this.net, this.config, batch, this.services.runtime.portable);
      const session = await this.services.runtime.session(await modelFor(this.services.runtime, graph.graph), 'train-step');
      const scalar = () => this.services.runtime.float32(new Float32Array(1), []);
      s = { graph, session, loss: scalar(), correct: scalar() };
      this.sessions.set(batch, s);
    }
    return s;
  }

  /** One optimizer step on a prepared batch: forward, backward and update in one run. */
  async step(batch: Batch, lr: number): Promise<{ loss: number; correct: number }> {
    const { runtime } = this.services;
    const s = await this.sessionFor(batch.size);
    const feeds: Record<string, Tensor> = {
      ...this.state.feeds(),
      [IMAGE]: runtime.float32(batch.images, [batch.size, ...this.net.inputShape]),
      [TARGET]: runtime.int64(batch.labels, [batch.size]),
      [LR]: runtime.float32(Float32Array.of(lr), []),
    };
    if (this.config.optimizer.kind !== 'sgd') feeds[STEP] = runtime.float32(Float32Array.of(this.position.step + 1), []);
    if (this.config.average) feeds[AVERAGE_DECAY] = runtime.float32(Float32Array.of(averageDecay(this.config.average.decay, this.position.step + 1)), []);
    s.graph.masks.forEach((m, i) => {
      feeds[m.name] = runtime.float32(batch.masks[i], m.shape);
    });
    await s.session.run(feeds, { ...this.state.fetches(), [LOSS]: s.loss, [CORRECT]: s.correct });
    this.state.swap();
    return { loss: (s.loss.data as Float32Array)[0], correct: (s.correct.data as Float32Array)[0] };
  }

  /** The remaining batches of the current epoch (up to maxSteps). */
  private async trainEpoch(events: TrainEvents): Promise<EpochProgress> {
    const { epoch, batch: first } = this.position;
    const batches = this.stepsPerEpoch;
    const { maxSteps } = this.config;
    const last = maxSteps === undefined ? batches : Math.min(batches, first + maxSteps - this.position.step);
    events.onEpochStart?.(epoch, first, batches);
    const started = performance.now();
    const progress: EpochProgress = { epoch, first, next: first, lossSum: 0, correct: 0, seen: 0, lr: this.lrAt(this.position.step), seconds: 0 };
    for await (const batch of this.epochServices().batches.epoch(epoch, first, this.position.step, last)) {
      const lr = this.lrAt(this.position.step);
      progress.lr = lr;
      const r = await this.step(batch, lr);
      if (!Number.isFinite(r.loss)) {
        throw new DivergedError(
          `loss became ${r.loss} at epoch ${epoch + 1}, batch ${progress.next}, step ${this.position.step} (lr ${lr}); ${this.keepNote()}. Try a lower --lr.`,
        );
      }
      progress.lossSum += r.loss * batch.size;
      progress.correct += r.correct;
      progress.seen += batch.size;
      this.position.step++;
      events.onBatch?.({ epoch, batch: progress.next, batches, step: this.position.step, loss: r.loss, lr });
      progress.next++;
    }
    progress.seconds = (performance.now() - started) / 1000;
    return progress;
  }

  /** Evaluation, metrics, the new position, and a saved snapshot (never one with a non-finite value). */
  private async endEpoch(p: EpochProgress): Promise<{ metrics: EpochMetrics; savedAt: string }> {
    const evalStarted = performance.now();
    const services = this.epochServices();
    const test: EvalResult = await this.evaluator!.evaluate(this.modelState(), services.test, { limit: this.config.testLimit });
    const metrics: EpochMetrics = {
      epoch: p.epoch + 1,
      batches: p.next - p.first,
      step: this.position.step,
      lr: p.lr,
      train_loss: p.lossSum / Math.max(p.seen, 1),
      train_acc: p.correct / Math.max(p.seen, 1),
      test_loss: test.loss,
      test_acc: test.correct / test.count,
      test_correct: test.correct,
      test_count: test.count,
      train_seconds: p.seconds,
      test_seconds: (performance.now() - evalStarted) / 1000,
    };
    this.metrics.push(metrics);
    const { step } = this.position;
    this.position = p.next >= this.stepsPerEpoch ? { epoch: p.epoch + 1, batch: 0, step } : { epoch: p.epoch, batch: p.next, step };
    const model = this.state.snapshot(isModelState);
    const optimizer = this.state.snapshot((e) => e.role === 'optimizer');
    const average = this.averageState();
    const bad = firstNonFinite(model) ?? firstNonFinite(optimizer) ?? (average && firstNonFinite(average));
    if (bad) {
      throw new DivergedError(`the training state became non-finite by epoch ${p.epoch + 1}, step ${step}: ${bad}; ${this.keepNote()}. Try a lower --lr.`);
    }
    const snapshot: Snapshot = { model, optimizer, position: { ...this.position }, config: this.config, metrics: this.metrics };
    if (average) snapshot.average = average;
    this.lastSaved = await services.save(snapshot);
    return { metrics, savedAt: this.lastSaved };
  }

  /** Runs the remaining epochs (or up to maxSteps), saving after each. */
  async run(events: TrainEvents = {}): Promise<EpochMetrics[]> {
    while (!this.done) {
      const { metrics, savedAt } = await this.endEpoch(await this.trainEpoch(events));
      events.onEpochEnd?.(metrics, savedAt);
    }
    return this.metrics;
  }

  async close(): Promise<void> {
    if (runsEpochs(this.services)) await this.services.batches.close();
    await this.evaluator?.release();
    for (const s of this.sessions.values()) await s.session.release();
  }
}
