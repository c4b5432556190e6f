/**
 * The stepper: a network's training state on a runtime, and one optimizer step at a time.
 * Per step it feeds the state, the batch, its dropout masks and the learning rate to the
 * training-step graph, which returns the loss and the next state (forward, backward and
 * update in one `run`). It knows nothing of epochs, data sets or files: the training loop
 * (training-loop.ts) and the public Trainer (trainer.ts) drive it.
 *
 * The state (parameters, optimizer slots, BatchNorm statistics; its layout is the graph's
 * `carried` list) lives in two sets of runtime tensors that take turns as inputs and
 * preallocated outputs, so no step copies it through fresh arrays. A frozen parameter has one
 * tensor, fed every step and never returned.
 */
import { serializeModel } from '../../graph/serialize.js';
import { numel } from '../../graph/shape.js';
import {
  AVERAGE_DECAY,
  CORRECT,
  type CarriedEntry,
  IMAGE,
  isModelState,
  LOSS,
  LR,
  next,
  STEP,
  TARGET,
  trainStepGraph,
  type TrainStepGraph,
} from '../../model/graphs.js';
import type { Network } from '../../model/network.js';
import type { StateDict } from '../../model/state-dict.js';
import type { Batch } from './batch-source.js';
import type { TrainConfig } from './config.js';
import { frozenParameters } from './freeze.js';
import { OPSET } from './opset.js';
import { type InferenceSession, modelFor, type Runtime, type Tensor } from './runtime.js';
import { averageDecay } from './schedule.js';
import { floatData } from '../../util/tensor-data.js';

/**
 * The values a stepper starts from: model state (all of it), and optionally
 * optimizer slots and averages (else zeros and the model's values).
 */
export interface StartState {
  model: StateDict;
  optimizer?: StateDict;
  average?: StateDict;
  /** Names the source in errors: a checkpoint folder, "the model being tuned". */
  from: string;
}

/** `set`'s tensor of entry `name`: both sets hold every entry of the layout, so a miss is a bug, said by name. */
function tensorOf(set: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const tensor = set.get(name);
  if (!tensor) throw new Error(`the training state has no entry '${name}'`);
  return tensor;
}

/** The carried state as two sets of runtime tensors used in turn (one, shared, for a frozen entry). */
class CarriedState {
  private current = new Map<string, Tensor>();
  private spare = new Map<string, Tensor>();

  constructor(
    readonly layout: readonly CarriedEntry[],
    runtime: Runtime,
    initial: (entry: CarriedEntry) => Float32Array,
  ) {
    for (const entry of layout) {
      const tensor = runtime.float32(Float32Array.from(initial(entry)), entry.shape);
      this.current.set(entry.name, tensor);
      this.spare.set(
        entry.name,
        entry.role === 'frozen' ? tensor : runtime.float32(new Float32Array(numel(entry.shape)), entry.shape),
      );
    }
  }

  feeds(): Record<string, Tensor> {
    return Object.fromEntries(this.current);
  }

  /** Preallocated outputs: the runtime writes the next state into the spare set. */
  fetches(): Record<string, Tensor> {
    return Object.fromEntries(
      this.layout.filter((e) => e.role !== 'frozen').map((e) => [next(e.name), tensorOf(this.spare, e.name)]),
    );
  }

  swap(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }

  /**
   * Current values of the entries `select` picks, as a StateDict (views, not copies), under
   * their own names or, with `named`, others (an average under the name it averages).
   */
  snapshot(
    select: (entry: CarriedEntry) => boolean,
    named: (entry: CarriedEntry) => string = (e) => e.name,
  ): StateDict {
    const state: StateDict = new Map();
    for (const entry of this.layout) {
      if (select(entry))
        state.set(named(entry), { shape: entry.shape, data: floatData(tensorOf(this.current, entry.name)) });
    }
    return state;
  }

  /** Overwrites the current values of the entries in `state` (same names, same shapes). */
  load(state: StateDict): void {
    for (const [name, t] of state) floatData(tensorOf(this.current, name)).set(t.data);
  }
}

interface StepSession {
  graph: TrainStepGraph;
  session: InferenceSession;
  loss: Tensor;
  correct: Tensor;
}

/** The result of one step: the batch's mean loss and, for classification, how many it got right. */
export interface StepResult {
  loss: number;
  correct?: number;
}

const isAverage = (e: CarriedEntry) => e.role === 'average';
const averaged = (e: CarriedEntry) => (e.role === 'average' ? e.of : e.name);

export class Stepper {
  private readonly sessions = new Map<number, StepSession>();
  private readonly state: CarriedState;

  private constructor(
    readonly net: Network,
    readonly config: TrainConfig,
    readonly runtime: Runtime,
    private readonly frozen: ReadonlySet<string>,
    private readonly template: TrainStepGraph,
    start: StartState,
  ) {
    this.state = new CarriedState(template.carried, runtime, (entry) => {
      if (entry.role === 'optimizer')
        return start.optimizer?.get(entry.name)?.data ?? missing(start, entry, !start.optimizer);
      // an average starts at the model
      if (entry.role === 'average') return (start.average ?? start.model).get(entry.of)?.data ?? missing(start, entry);
      return start.model.get(entry.name)?.data ?? missing(start, entry);
    });
  }

  /**
   * Builds the full-batch graph for `config` (batch size, optimizer, frozen parameters, ...) and starts from `start`.
   */
  static create(net: Network, config: TrainConfig, runtime: Runtime, start: StartState): Stepper {
    const frozen = frozenParameters(net, config);
    return new Stepper(
      net,
      config,
      runtime,
      frozen,
      stepGraph(net, config, frozen, config.batchSize, runtime.portable),
      start,
    );
  }

  /**
   * The full-batch training-step graph, serialised as built (a
   * run folder keeps a copy; the runtime may run it lowered).
   */
  get trainStepModel(): Uint8Array {
    return serializeModel(this.template.graph, { opset: OPSET });
  }

  /** The carried state's names, in the step's input order. */
  get carriedNames(): string[] {
    return this.template.carried.map((e) => e.name);
  }

  /** The names of the parameters this stepper does not train. */
  get frozenNames(): ReadonlySet<string> {
    return this.frozen;
  }

  /** Dropout masks a step takes, as shaped for a full batch. */
  get masks(): TrainStepGraph['masks'] {
    return this.template.masks;
  }

  /** The live model state (every parameter, trained or frozen, and the buffers), as views. */
  liveState(): StateDict {
    return this.state.snapshot(isModelState);
  }

  optimizerState(): StateDict {
    return this.state.snapshot((e) => e.role === 'optimizer');
  }

  /**
   * The moving average of the model state under the names it averages
   * (frozen parameters as they are), when the config keeps one.
   */
  averageState(): StateDict | undefined {
    if (!this.config.average) return undefined;
    return new Map([...this.state.snapshot((e) => e.role === 'frozen'), ...this.state.snapshot(isAverage, averaged)]);
  }

  /** The state the run evaluates and exports: the moving average when it keeps one, else the live state. */
  modelState(): StateDict {
    return this.averageState() ?? this.liveState();
  }

  /** Replaces the model state (and its averages) with `model`'s values; optimizer slots stay. */
  loadModel(model: StateDict): void {
    this.state.load(model);
    const averages: StateDict = new Map();
    for (const e of this.template.carried) {
      if (e.role !== 'average') continue;
      const value = model.get(e.of);
      if (!value) throw new Error(`the model state has no '${e.of}', which '${e.name}' averages`);
      averages.set(e.name, value);
    }
    this.state.load(averages);
  }

  private async sessionFor(batch: number): Promise<StepSession> {
    let s = this.sessions.get(batch);
    if (!s) {
      const graph =
        batch === this.template.batch
          ? this.template
          : stepGraph(this.net, this.config, this.frozen, batch, this.runtime.portable);
      const session = await this.runtime.session(await modelFor(this.runtime, graph.graph), 'train-step');
      const scalar = () => this.runtime.float32(new Float32Array(1), []);
      s = { graph, session, loss: scalar(), correct: scalar() };
      this.sessions.set(batch, s);
    }
    return s;
  }

  /**
   * One optimizer step on a prepared batch (optimizer step number
   * `step`, counted from 0): forward, backward and update in one run.
   */
  async step(batch: Batch, lr: number, step: number): Promise<StepResult> {
    const { runtime } = this;
    const s = await this.sessionFor(batch.size);
    const target = s.graph.target;
    const feeds: Record<string, Tensor> = {
      ...this.state.feeds(),
      [IMAGE]: runtime.float32(batch.images, [batch.size, ...this.net.inputShape]),
      [TARGET]:
        batch.labels instanceof BigInt64Array
          ? runtime.int64(batch.labels, target.shape)
          : runtime.float32(batch.labels, target.shape),
      [LR]: runtime.float32(Float32Array.of(lr), []),
    };
    if (this.config.optimizer.kind !== 'sgd') feeds[STEP] = runtime.float32(Float32Array.of(step + 1), []);
    if (this.config.average)
      feeds[AVERAGE_DECAY] = runtime.float32(Float32Array.of(averageDecay(this.config.average.decay, step + 1)), []);
    s.graph.masks.forEach((m, i) => {
      feeds[m.name] = runtime.float32(batch.masks[i], m.shape);
    });
    await s.session.run(feeds, {
      ...this.state.fetches(),
      [LOSS]: s.loss,
      ...(s.graph.counts && { [CORRECT]: s.correct }),
    });
    this.state.swap();
    const loss = floatData(s.loss)[0];
    return s.graph.counts ? { loss, correct: floatData(s.correct)[0] } : { loss };
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await s.session.release();
    this.sessions.clear();
  }
}

/** The training-step graph a recipe asks for, at one batch size. */
function stepGraph(
  net: Network,
  config: TrainConfig,
  frozen: ReadonlySet<string>,
  batch: number,
  portable = false,
): TrainStepGraph {
  return trainStepGraph(net, batch, config.optimizer, {
    average: config.average !== undefined,
    portable,
    frozen,
    labelSmoothing: config.labelSmoothing,
  });
}

/**
 * An entry the start state lacks: zeros for optimizer slots a fresh start has none of, else an error naming the source.
 */
function missing(start: StartState, entry: CarriedEntry, fresh = false): Float32Array {
  if (fresh) return new Float32Array(numel(entry.shape)); // optimizer slots start at zero
  throw new Error(`${start.from}: the state has no '${averaged(entry)}'${entry.role === 'average' ? ' average' : ''}`);
}
