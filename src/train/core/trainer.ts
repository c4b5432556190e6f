/**
 * The library's trainer, the same in Node and in the browser (only the runtime differs: the
 * `./node` and `./web` entry points bind one). Shaped after onnxruntime-training's removed
 * TrainingSession (train step, eval step, state in and out) and tfjs's `fit`: create it from a
 * Module, a Network or the bytes of a PyTorch-exported `.onnx`, with a recipe; then
 * `step(inputs, labels)` one batch at a time, or `fit(data, options)` for whole epochs;
 * `evaluate(data)`; `state()` / `loadState(bytes)` as safetensors with PyTorch's names.
 * Runtime-neutral. The public `Trainer` (src/api/trainer.ts) adds the verified export for
 * inference, which lives a layer above training.
 */
import { exampleSize, type Split } from '../../data/dataset.js';
import type { OptimizerOptions } from '../../graph/optim.js';
import { classCount } from '../../model/graphs.js';
import { isClassification } from '../../model/loss.js';
import { Module } from '../../model/module.js';
import { Network } from '../../model/network.js';
import { copyState, type StateDict } from '../../model/state-dict.js';
import { importOnnx } from '../../model/onnx-import.js';
import { ExpectedError } from '../../util/errors.js';
import {
  type BatchOptions,
  type BatchSource,
  BatchFiller,
  batchBuffers,
  batchOptions,
  batchView,
  InlineBatches,
} from './batch-source.js';
import { type EpochMetrics, firstIssue, type Position, type TrainConfig, trainConfigSchema } from './config.js';
import { type EvalResult, Evaluator } from './evaluator.js';
import { frozenParameters } from './freeze.js';
import { estimateMemory, memoryProblem } from './memory.js';
import { dataProblem, dataMismatch } from './model-fit.js';
import { ADAM_CONSTANTS, DEFAULT_SGD, normalizationOf, recipe as defaultRecipe } from './recipe.js';
import type { Runtime } from './runtime.js';
import { decodeModelState, encodeModelState } from './state-file.js';
import { type Snapshot, type StepInfo, type TrainEvents, TrainingLoop } from './training-loop.js';
import { type StepResult, Stepper } from './stepper.js';

/** A network to train: a Module (give `inputShape`), a Network, or the bytes of an `.onnx` PyTorch exported. */
export type ModelSource = Module | Network | Uint8Array;

/**
 * A recipe: any part of the default one (src/train/core/recipe.ts: the seed's SGD with
 * momentum 0.9 at lr 0.05, StepLR x0.1 every 7 epochs, batch 128, rotation and shift, MNIST's
 * normalisation, 15 epochs, seed 1). `optimizer` may be a name ('sgd', 'adam', 'adamw') for
 * PyTorch's defaults.
 */
export type Recipe = Partial<
  Omit<TrainConfig, 'optimizer' | 'model' | 'dataDir' | 'init' | 'device' | 'threads' | 'lrChanges'>
> & {
  optimizer?: OptimizerOptions['kind'] | OptimizerOptions;
};

export interface TrainerSetup {
  /** One example's shape, [C, H, W]: needed for a Module; a Network or an `.onnx` knows its own. */
  inputShape?: readonly number[];
  /** The model's name (summaries, the exported graph); default: the module's kind or "model". */
  name?: string;
  /** Continue a run from this point (the CLI's --resume): state, position and metrics. */
  resume?: ResumePoint;
  /** Go ahead when the run's estimated memory exceeds the runtime's budget (core/memory.ts). */
  allowLargeModel?: boolean;
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

export interface FitOptions {
  /** Epochs to train in this call (a partly trained epoch counts as one); default: the recipe's, less those done. */
  epochs?: number;
  /**
   * Stop after this many optimizer steps in this call (the epoch it ends in is evaluated and
   * saved as a partial one); the recipe's `maxSteps` caps the steps of all calls together.
   */
  steps?: number;
  /** Evaluated after each epoch (`test_*` in the metrics); `validationLimit` takes its first N examples. */
  validation?: Split;
  validationLimit?: number;
  /** After each step; a returned promise is awaited before the next one. */
  onStep?(info: StepInfo): void | Promise<void>;
  /** After each epoch (evaluated, and saved when `save` is given). */
  onEpoch?(metrics: EpochMetrics): void | Promise<void>;
  onEpochStart?: TrainEvents['onEpochStart'];
  onEvaluating?: TrainEvents['onEvaluating'];
  /** Aborting ends the run after the step in flight; fit then resolves with `stopped: true`. */
  signal?: AbortSignal;
  /**
   * Persists each epoch's snapshot (state, optimizer, position);
   * returns where it went. The CLI writes checkpoints with it.
   */
  save?(snapshot: Snapshot): string | Promise<string>;
}

export interface FitResult {
  /** Every epoch's metrics so far (earlier fits' included). */
  history: readonly EpochMetrics[];
  /** True when the signal ended the run early. */
  stopped: boolean;
}

/** What `evaluate` measures. */
export interface Evaluation extends EvalResult {
  /** Classification losses: correct / count. */
  accuracy?: number;
}

/** A recipe or setup the trainer cannot use; the message says which field and why. */
export class RecipeError extends ExpectedError {}

/** A recipe's optimizer with PyTorch's defaults where a name is given. */
function optimizerOf(o: Recipe['optimizer']): OptimizerOptions | undefined {
  if (o === undefined || typeof o === 'object') return o;
  return o === 'sgd' ? { ...DEFAULT_SGD } : { kind: o, ...ADAM_CONSTANTS, weightDecay: 0 };
}

/** The whole recipe: the default with `changes`, checked by the run-record schema (one line naming the field). */
function fullRecipe(changes: Recipe = {}): TrainConfig {
  const { optimizer, ...rest } = changes;
  const config = defaultRecipe({ ...rest, ...(optimizer !== undefined && { optimizer: optimizerOf(optimizer) }) });
  const parsed = trainConfigSchema.safeParse(config);
  if (!parsed.success) throw new RecipeError(`recipe: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** The network a model source stands for. */
function networkOf(model: ModelSource, setup: TrainerSetup = {}): Network {
  if (model instanceof Network) return model;
  if (model instanceof Uint8Array) return importOnnx(model, setup.name ?? 'model').net;
  if (!Module.is(model)) throw new RecipeError('the model must be a Module, a Network, or the bytes of an .onnx file');
  const shape = setup.inputShape;
  if (shape?.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RecipeError(
      `a Module needs inputShape [channels, height, width] of positive integers (got ${JSON.stringify(shape)})`,
    );
  }
  return new Network(setup.name ?? model.kind, model, shape);
}

/** What a trainer is made of (Trainer.create makes them). */
export interface TrainerParts {
  net: Network;
  recipe: TrainConfig;
  runtime: Runtime;
  stepper: Stepper;
  outputs: number;
  progress: { position: Position; metrics: EpochMetrics[]; lastSaved?: string };
}

export class TrainerBase {
  /** The network as trained (the recipe's dropout and loss applied). */
  readonly net: Network;
  /** The whole recipe, as recorded in a run. */
  readonly recipe: TrainConfig;
  readonly runtime: Runtime;
  /** Outputs per example (classes, for a classifier). */
  readonly outputs: number;
  protected readonly stepper: Stepper;
  private readonly progress: TrainerParts['progress'];
  private evaluator?: Evaluator;
  /** The data the last fit or evaluate measured: what exportInference verifies on by default. */
  private lastData?: Split;

  /** @internal Use `create`. */
  constructor(parts: TrainerParts) {
    ({
      net: this.net,
      recipe: this.recipe,
      runtime: this.runtime,
      outputs: this.outputs,
      stepper: this.stepper,
      progress: this.progress,
    } = parts);
  }

  /**
   * Builds the training-step graph and its state: fresh (drawn from the
   * recipe's seed, or an `.onnx`'s own weights), or `setup.resume`'s.
   */
  static async create<T extends TrainerBase>(
    this: new (
      parts: TrainerParts,
    ) => T,
    model: ModelSource,
    recipe: Recipe | TrainConfig,
    runtime: Runtime,
    setup: TrainerSetup = {},
  ): Promise<T> {
    const config = fullRecipe(recipe);
    const net = networkOf(model, setup).withDropout(config.dropout).withLoss(config.loss);
    const outputs = classCount(net);
    const { resume } = setup;
    const budget = runtime.memory;
    const tooLarge =
      budget &&
      !setup.allowLargeModel &&
      memoryProblem(estimateMemory(net, config, frozenParameters(net, config)), budget.budget, budget.where);
    if (tooLarge) throw new RecipeError(`${tooLarge}; pass allowLargeModel: true to go ahead`);
    const start = resume
      ? { model: resume.model, optimizer: resume.optimizer, average: resume.average, from: resume.savedAt }
      : { model: net.initialState(config.seed), from: 'the initial state' };
    const stepper = Stepper.create(net, config, runtime, start);
    const progress = resume
      ? { position: { ...resume.position }, metrics: [...resume.metrics], lastSaved: resume.savedAt }
      : { position: { epoch: 0, batch: 0, step: 0 }, metrics: [] };
    return new this({ net, recipe: config, runtime, stepper, outputs, progress });
  }

  /** Optimizer steps taken, epochs begun and batches into the current one. */
  get position(): Readonly<Position> {
    return this.progress.position;
  }

  /** Every epoch's metrics so far. */
  get history(): readonly EpochMetrics[] {
    return this.progress.metrics;
  }

  /** Where the last snapshot was saved (by fit's `save`), if anywhere. */
  get lastSaved(): string | undefined {
    return this.progress.lastSaved;
  }

  /** The parameters the recipe leaves untrained (`trainOnly` / `freeze`). */
  get frozen(): ReadonlySet<string> {
    return this.stepper.frozenNames;
  }

  /** The full-batch training-step graph as built (standard ONNX), for a run folder's record. */
  get trainStepModel(): Uint8Array {
    return this.stepper.trainStepModel;
  }

  /** The carried state's names, in the step's input order. */
  get carriedNames(): string[] {
    return this.stepper.carriedNames;
  }

  /**
   * The state evaluated and exported (the moving average when the recipe keeps one), as views the next step overwrites.
   */
  modelState(): StateDict {
    return this.stepper.modelState();
  }

  private check(data: Split, what: string): void {
    const problem = dataMismatch(this.net, data, this.outputs);
    if (problem) throw new RecipeError(`${what}: ${problem}`);
  }

  /** The recipe's batches of `data`, or with `batchSize` and `augment` changed. */
  private batchOptions(
    data: Split,
    change: Partial<Pick<TrainConfig, 'batchSize' | 'augment' | 'shuffle' | 'trainLimit'>> = {},
  ): BatchOptions {
    const config = { ...this.recipe, ...change };
    const masks = this.stepper.masks.map((m) => ({ shape: [config.batchSize, ...m.shape.slice(1)], p: m.p }));
    return batchOptions(config, data, masks, isClassification(this.net.options.loss) ? undefined : this.outputs);
  }

  /**
   * One optimizer step on a batch as given: `inputs` holds N examples of the model's input
   * shape (bytes or floats, normalised by the recipe), `labels` N class indices (or N x K
   * floats for a regression loss). No augmentation; dropout masks are drawn from the seed and
   * the step number. `lr` defaults to the recipe's.
   */
  async step(
    inputs: Uint8Array | Float32Array,
    labels: Split['labels'],
    { lr = this.recipe.lr } = {},
  ): Promise<StepResult> {
    const count = inputs.length / exampleSize({ shape: this.net.inputShape });
    const batch: Split = { images: inputs, labels, count, shape: this.net.inputShape };
    const problem = Number.isInteger(count)
      ? dataProblem(batch, this.outputs, isClassification(this.net.options.loss))
      : undefined;
    if (!Number.isInteger(count) || problem) {
      const shape = this.net.inputShape.join(',');
      throw new RecipeError(
        `step: ${problem ?? `the inputs hold ${inputs.length} values, not whole examples of [${shape}]`}`,
      );
    }
    const options = this.batchOptions(batch, {
      batchSize: count,
      augment: null,
      shuffle: false,
      trainLimit: undefined,
    });
    const buffers = batchBuffers(options, exampleSize(batch));
    const { step } = this.progress.position;
    new BatchFiller(batch, options).fill(buffers, 0, 0, step);
    const result = await this.stepper.step(batchView(options, buffers, count, exampleSize(batch)), lr, step);
    this.progress.position.step++;
    return result;
  }

  /** Epochs over `data` with the recipe's batches (shuffled, augmented), evaluating `validation` after each. */
  async fit(data: Split, options: FitOptions = {}): Promise<FitResult> {
    this.check(data, 'fit');
    if (options.validation) this.check(options.validation, 'fit: validation');
    const { position } = this.progress;
    const epochs = options.epochs ?? Math.max(this.recipe.epochs - position.epoch, 0);
    if (!(Number.isInteger(epochs) && epochs >= 0))
      throw new RecipeError(`fit: epochs must be a whole number, not ${epochs}`);
    const caps = [
      options.steps === undefined ? Infinity : position.step + options.steps,
      this.recipe.maxSteps ?? Infinity,
    ];
    const maxSteps = Math.min(...caps);
    const limit = { epochs: position.epoch + epochs, ...(Number.isFinite(maxSteps) && { maxSteps }) };
    const batches = await this.batchesFor(data);
    const evaluator = options.validation && (await this.evaluatorOf());
    const loop = new TrainingLoop(
      this.stepper,
      this.progress,
      {
        batches,
        ...(options.validation &&
          evaluator && { validation: { split: options.validation, evaluator, limit: options.validationLimit } }),
        ...(options.save && { save: options.save }),
        ...(options.signal && { signal: options.signal }),
      },
      limit,
    );
    try {
      const { onStep, onEpochStart, onEvaluating, onEpoch } = options;
      const stopped = await loop.run({ onStep, onEpochStart, onEvaluating, onEpoch: onEpoch && ((m) => onEpoch(m)) });
      if (options.validation) this.lastData = options.validation;
      return { history: this.progress.metrics, stopped };
    } finally {
      await batches.close();
    }
  }

  /** The batches of `data` under the recipe, made where the runtime makes them (a worker thread in Node). */
  private batchesFor(data: Split): Promise<BatchSource> {
    const options = this.batchOptions(data);
    return this.runtime.batchSource?.(data, options) ?? Promise.resolve(new InlineBatches(data, options));
  }

  private async evaluatorOf(): Promise<Evaluator> {
    this.evaluator ??= await Evaluator.create(this.net, this.runtime, normalizationOf(this.recipe));
    return this.evaluator;
  }

  /**
   * Loss (and for classifiers accuracy) of the evaluated state on `data`: no dropout, BatchNorm's running statistics.
   */
  async evaluate(data: Split, { limit }: { limit?: number } = {}): Promise<Evaluation> {
    this.check(data, 'evaluate');
    const r = await (await this.evaluatorOf()).evaluate(this.modelState(), data, { limit });
    this.lastData = data;
    return r.correct === undefined ? r : { ...r, accuracy: r.correct / r.count };
  }

  /** The evaluated state as safetensors bytes with PyTorch's names (what `load_state_dict` takes). */
  state(): Uint8Array {
    return encodeModelState(this.modelState(), this.net, this.progress.position.step);
  }

  /**
   * Replaces the model's weights and statistics with a state dict's (safetensors bytes, PyTorch's
   * names, every entry with its shape: `load_state_dict(strict=True)`'s rule); optimizer state
   * stays. `source` names the bytes in errors.
   */
  loadState(bytes: Uint8Array, source = 'the state'): void {
    this.stepper.loadModel(decodeModelState(this.net, bytes, source));
  }

  /** A copy of the evaluated state (safe to keep across steps). */
  stateDict(): StateDict {
    return copyState(this.modelState());
  }

  /** The data exportInference verifies on when given none: the last fit's validation split or evaluate's data. */
  get verificationData(): Split | undefined {
    return this.lastData;
  }

  async close(): Promise<void> {
    await this.evaluator?.release();
    await this.stepper.close();
  }
}
