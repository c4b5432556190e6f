/**
 * `npm run train`: trains a network (the seed CNN, or `--model file.ts`) on MNIST with the
 * ONNX training-step graph. Defaults are the recipe docs/training.md reports (SGD momentum 0.9, lr 0.05,
 * StepLR(7, 0.1), batch 128, +-7 degree rotation and +-2 px shift, 15 epochs).
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { batchesPerEpoch } from '../train/core/batch-source.js';
import type { AugmentOptions } from '../data/augment.js';
import type { Dataset } from '../data/dataset.js';
import { classNamesOf, readRunData } from './data-choice.js';
import { dataDefaults } from '../train/core/data-recipe.js';
import { builtinInputShape } from '../data/source.node.js';
import type { OptimizerOptions } from '../graph/optim.js';
import {
  assertRecipeOf,
  CheckpointError,
  loadNewestCheckpoint,
  prepareCheckpointsForResume,
} from '../train/checkpoint.js';
import type { Position, TrainConfig } from '../train/core/config.js';
import {
  ADAM_CONSTANTS,
  DEFAULT_RECIPE,
  DEFAULT_SGD,
  DEFAULT_STEP_LR,
  DIGIT_AUGMENT,
  ONECYCLE,
} from '../train/core/recipe.js';
import { consoleProgress } from '../train/progress.js';
import type { Schedule } from '../train/core/schedule.js';
import { createRunFolder, createUniqueRunFolder, openRunFolder, type RunFolder } from '../train/run-folder.js';
import { formatProfile, type ProfileSummary } from '../train/profile.js';
import { environmentSwitches, machineMemory } from '../train/node-runtime.js';
import { estimateMemory, memoryProblem } from '../train/core/memory.js';
import { type ProfileOptions, type TrainCheckpoint, TrainingRun } from '../train/training-run.js';
import { UsageError, runCommand, warnSkipped } from './errors.js';
import {
  assertFitsData,
  assertSameModel,
  builtinModel,
  builtinShapeFor,
  loadModelFile,
  type ModelChoice,
  modelCopyName,
  modelLabel,
  recordedModel,
  withInitialWeights,
} from './training-model.js';
import { frozenParameters } from '../train/core/freeze.js';
import { timestamp } from '../util/timestamp.js';
import { FileError } from '../util/errors.js';
import { NetworkError } from '../model/network.js';
import { BrokenModelError } from '../train/core/training-loop.js';
import {
  augmentKinds,
  emaDecay,
  nonEmptyPath,
  parseCommand,
  patternList,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
  probability,
  share,
  uint32,
} from './parse.js';

interface Options {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: 'step' | 'onecycle' | 'constant';
  stepSize: number;
  gamma: number;
  seed: number;
  threads?: number;
  device: 'cpu' | 'cuda';
  model?: string;
  dropout?: number;
  loss?: 'nll' | 'cross-entropy';
  labelSmoothing?: number;
  trainOnly?: string[];
  freeze?: string[];
  init?: string;
  augment?: string[];
  rotateDegrees: number;
  shiftPixels: number;
  shuffle: boolean;
  trainLimit?: number;
  testLimit?: number;
  maxSteps?: number;
  out?: string;
  resume: boolean;
  data?: string;
  dataDir?: string;
  valSplit?: number;
  classNames?: string[];
  profile?: number | true;
  emaDecay?: number;
  memoryCheck: boolean;
}

function toConfig(o: Options): TrainConfig {
  const optimizer: OptimizerOptions =
    o.optimizer === 'sgd'
      ? { kind: 'sgd', momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov }
      : { kind: o.optimizer, ...ADAM_CONSTANTS, weightDecay: o.weightDecay };
  if (o.nesterov && (o.optimizer !== 'sgd' || o.momentum === 0))
    throw new UsageError('--nesterov needs --optimizer sgd and a non-zero --momentum');
  const schedule: Schedule =
    o.schedule === 'step'
      ? { kind: 'step', stepSize: o.stepSize, gamma: o.gamma }
      : o.schedule === 'onecycle'
        ? { ...ONECYCLE }
        : { kind: 'constant' };
  // Without --augment, the data decides (core/data-recipe.ts's dataDefaults); this is the flag's own.
  const kinds = o.augment ?? ['rotate', 'shift'];
  const augment: AugmentOptions | null = kinds.includes('none')
    ? null
    : {
        rotate: kinds.includes('rotate') ? o.rotateDegrees : 0,
        shift: kinds.includes('shift') ? o.shiftPixels : 0,
        ...(kinds.includes('flip') && { flip: true }),
      };
  const data = o.data ?? o.dataDir;
  return {
    epochs: o.epochs,
    batchSize: o.batchSize,
    lr: o.lr,
    optimizer,
    schedule,
    seed: o.seed,
    dropout: o.dropout,
    loss: o.loss,
    labelSmoothing: o.labelSmoothing,
    trainOnly: o.trainOnly,
    freeze: o.freeze,
    augment,
    shuffle: o.shuffle,
    trainLimit: o.trainLimit,
    testLimit: o.testLimit,
    maxSteps: o.maxSteps,
    threads: o.threads,
    device: o.device,
    dataDir: data === undefined ? undefined : resolve(data),
    valSplit: o.valSplit,
    classNames: o.classNames,
    ...(o.emaDecay === undefined ? {} : { average: { decay: o.emaDecay } }),
  };
}

const D = DEFAULT_RECIPE;

const program = new Command('train')
  .description(
    'Train a network (the seed CNN, or your own with --model) on your data ' +
      '(the bundled MNIST by default) with an ONNX training-step graph run by onnxruntime-node',
  )
  .option(
    '--model <file>',
    "a model file: a .ts whose default export is a module written with this package's layers, " +
      'or an .onnx exported by PyTorch (default: the built-in seed CNN)',
    nonEmptyPath,
  )
  .option('--epochs <n>', 'epochs to train', positiveInt, D.epochs)
  .option('--batch-size <n>', 'examples per step', positiveInt, D.batchSize)
  .option('--lr <x>', 'learning rate (the peak rate for onecycle)', positiveNumber, D.lr)
  .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw']).default(DEFAULT_SGD.kind))
  .option('--momentum <x>', 'SGD momentum', nonNegativeNumber, DEFAULT_SGD.momentum)
  .option('--nesterov', 'Nesterov momentum', DEFAULT_SGD.nesterov)
  .option('--weight-decay <x>', 'L2 penalty (decoupled for adamw)', nonNegativeNumber, DEFAULT_SGD.weightDecay)
  .addOption(
    new Option('--schedule <name>', 'learning-rate schedule')
      .choices(['step', 'onecycle', 'constant'])
      .default(DEFAULT_STEP_LR.kind),
  )
  .option('--step-size <epochs>', 'StepLR: epochs between decays', positiveInt, DEFAULT_STEP_LR.stepSize)
  .option('--gamma <x>', 'StepLR: decay factor', positiveNumber, DEFAULT_STEP_LR.gamma)
  .option(
    '--seed <n>',
    'seed for initialisation, shuffling, augmentation and dropout (0 to 4294967295)',
    uint32,
    D.seed,
  )
  .option('--threads <n>', "ORT intra-op threads (default: ORT's choice, one per core)", positiveInt)
  .addOption(new Option('--device <name>', 'execution provider').choices(['cpu', 'cuda']).default(D.device))
  .option(
    '--dropout <p>',
    "dropout probability of every Dropout layer (default: the model's own; the seed CNN's is 0.1)",
    probability,
  )
  .addOption(
    new Option(
      '--loss <kind>',
      'read the output as log-probabilities (nll) or logits (cross-entropy); ' +
        'default: nll after a final LogSoftmax, else cross-entropy',
    ).choices(['nll', 'cross-entropy']),
  )
  .option('--label-smoothing <e>', "cross-entropy's label smoothing (PyTorch's label_smoothing), e.g. 0.1", probability)
  .option(
    '--train-only <patterns>',
    'train only the parameters these comma-separated name patterns select (fc, features.*.weight, layer4.**); ' +
      'the rest are frozen',
    patternList,
  )
  .option('--freeze <patterns>', 'do not train the parameters these comma-separated name patterns select', patternList)
  .option('--no-memory-check', "train even when the run's estimated memory exceeds 80% of the machine's")
  .option(
    '--init <file>',
    'start from these weights: ' +
      'a state dict as safetensors with PyTorch names (safetensors.torch.save_file(model.state_dict(), ...))',
    nonEmptyPath,
  )
  .option(
    '--augment <kinds>',
    'training augmentation: none, or rotate, shift and flip joined by + ' +
      '(default: rotate+shift for one channel, as for digits; shift+flip with --shift-pixels 4 for colour images)',
    augmentKinds,
  )
  .option('--rotate-degrees <x>', 'maximum rotation', nonNegativeNumber, DIGIT_AUGMENT.rotate)
  .option('--shift-pixels <n>', 'maximum shift', nonNegativeInt, DIGIT_AUGMENT.shift)
  .option(
    '--ema-decay <d>',
    'keep an exponential moving average of the weights with this decay (e.g. 0.99), ' +
      'and evaluate, checkpoint and export it',
    emaDecay,
  )
  .option('--no-shuffle', 'keep the training set in file order')
  .option('--train-limit <n>', 'train on the first N training images', positiveInt)
  .option('--test-limit <n>', 'evaluate on the first N test images', positiveInt)
  .option('--max-steps <n>', 'stop after N optimizer steps in total', positiveInt)
  .option('--out <dir>', 'run folder (default runs/<date-time>)', nonEmptyPath)
  .option(
    '--resume',
    'continue the run in --out from its newest good checkpoint ' +
      '(lr, epochs, max steps, test limit, threads and device may change)',
    false,
  )
  .option(
    '--data <path>',
    'the data: a folder of MNIST-style IDX files, CIFAR-10 batches, ' +
      'a .csv (label,pixel0,...), or a folder of one image folder per class (default: the bundled MNIST)',
    nonEmptyPath,
  )
  .addOption(new Option('--data-dir <dir>', 'the same as --data').argParser(nonEmptyPath).hideHelp())
  .option(
    '--val-split <share>',
    'the share of training examples held out to test on when the data has no test split (default 0.1)',
    share,
  )
  .option(
    '--class-names <names>',
    "the classes' names, comma-separated or a .txt of one per line, for data without its own",
    classNamesOf,
  )
  .option(
    '--profile [steps]',
    "profile N training steps (default 20, after 5 warm-up steps) with ORT's profiler: " +
      'a trace in the run folder and a table by op type',
    positiveInt,
  );

/** Flags a resumed run cannot change: each projects the part of the recipe it sets. */
const FIXED_ON_RESUME: Partial<Record<keyof Options, (c: TrainConfig) => unknown>> = {
  batchSize: (c) => c.batchSize,
  optimizer: (c) => c.optimizer.kind,
  momentum: (c) => (c.optimizer.kind === 'sgd' ? c.optimizer.momentum : undefined),
  nesterov: (c) => c.optimizer.kind === 'sgd' && c.optimizer.nesterov,
  weightDecay: (c) => c.optimizer.weightDecay,
  schedule: (c) => c.schedule.kind,
  stepSize: (c) => (c.schedule.kind === 'step' ? c.schedule.stepSize : undefined),
  gamma: (c) => (c.schedule.kind === 'step' ? c.schedule.gamma : undefined),
  seed: (c) => c.seed,
  dropout: (c) => c.dropout,
  loss: (c) => c.loss,
  labelSmoothing: (c) => c.labelSmoothing,
  trainOnly: (c) => c.trainOnly,
  freeze: (c) => c.freeze,
  augment: (c) =>
    c.augment
      ? [c.augment.rotate > 0 && 'rotate', c.augment.shift > 0 && 'shift', c.augment.flip && 'flip']
          .filter(Boolean)
          .join('+') || 'none'
      : 'none',
  rotateDegrees: (c) => c.augment?.rotate,
  shiftPixels: (c) => c.augment?.shift,
  shuffle: (c) => c.shuffle,
  emaDecay: (c) => c.average?.decay,
  trainLimit: (c) => c.trainLimit,
  data: (c) => c.dataDir ?? 'the bundled MNIST',
  dataDir: (c) => c.dataDir ?? 'the bundled MNIST',
  valSplit: (c) => c.valSplit,
  classNames: (c) => c.classNames,
};

/**
 * The recipe of a resumed run: the recorded one, with what the flags may change from the
 * resume point on (epochs, lr, max steps, test limit, threads, device) and are recorded; without
 * them the run keeps its own. A flag that would
 * change the rest is refused by name; none is ignored.
 */
function resumedConfig(
  recorded: TrainConfig,
  o: Options,
  given: (key: keyof Options) => boolean,
  at: Position,
): TrainConfig {
  const requested = toConfig(o);
  for (const [key, project] of Object.entries(FIXED_ON_RESUME) as [keyof Options, (c: TrainConfig) => unknown][]) {
    if (!given(key) || JSON.stringify(project(requested)) === JSON.stringify(project(recorded))) continue;
    const show = (v: unknown) => (v === undefined ? 'none' : typeof v === 'string' ? v : JSON.stringify(v));
    throw new UsageError(
      `${flag(key)} ${show(project(requested))}: ` +
        `a resumed run keeps its recipe (this run has ${show(project(recorded))}); start a new run to change it`,
    );
  }
  const config: TrainConfig = { ...recorded, maxSteps: o.maxSteps };
  const onecycle = recorded.schedule.kind === 'onecycle';
  if (given('epochs') && o.epochs !== recorded.epochs) {
    if (onecycle)
      throw new UsageError(
        `--epochs ${o.epochs}: ` +
          `a onecycle schedule spans the run's ${recorded.epochs} epochs and cannot change on resume`,
      );
    const started = at.epoch + (at.batch > 0 ? 1 : 0);
    if (o.epochs < started) throw new UsageError(`--epochs ${o.epochs}: the run has already trained ${started} epochs`);
    config.epochs = o.epochs;
  }
  if (given('lr')) {
    if (onecycle && o.lr !== recorded.lr)
      throw new UsageError(
        `--lr ${o.lr}: a onecycle schedule is fixed at the start of the run; start a new run to change it`,
      );
    if (!onecycle) config.lrChanges = [...(recorded.lrChanges ?? []), { step: at.step, lr: o.lr }];
  }
  if (given('testLimit')) config.testLimit = o.testLimit;
  if (given('threads')) config.threads = o.threads;
  if (given('device')) config.device = o.device;
  return config;
}

const flag = (key: keyof Options) => program.options.find((opt) => opt.attributeName() === key)?.long ?? key;

/**
 * Refuses settings that cannot work before anything is allocated (a huge batch would hang or
 * crash later, 999 threads would stall the machine), wherever the value comes from: `source`
 * names the flag, or the run file a resumed run read it from.
 */
function checkLimits(
  config: TrainConfig,
  data: Dataset,
  source: (key: 'batchSize' | 'threads', value: number) => string,
): void {
  const maxThreads = 4 * availableParallelism();
  if (config.threads !== undefined && config.threads > maxThreads) {
    throw new UsageError(
      `${source('threads', config.threads)}: ` +
        `more than 4 per core (${availableParallelism()} cores here, at most ${maxThreads})`,
    );
  }
  const examples = Math.min(config.trainLimit ?? data.train.count, data.train.count);
  if (config.batchSize > examples)
    throw new UsageError(`${source('batchSize', config.batchSize)}: larger than the training set (${examples} images)`);
}

/** The value as its flag gives it: `--threads 999`. */
const fromFlag = (key: keyof Options, value: number) => `${flag(key)} ${value}`;

/** Refuses a resume point that is not a place in the run (a position edited in trainer.json). */
function checkPosition(checkpoint: TrainCheckpoint, config: TrainConfig, data: Dataset): void {
  const perEpoch = batchesPerEpoch({
    examples: Math.min(config.trainLimit ?? data.train.count, data.train.count),
    batchSize: config.batchSize,
  });
  const { epoch, batch, step } = checkpoint.trainer.position;
  if (batch < perEpoch && step === epoch * perEpoch + batch) return;
  throw new CheckpointError(
    `${join(checkpoint.dir, 'trainer.json')}: position epoch ${epoch}, batch ${batch}, ` +
      `step ${step} is not a place in this run (${perEpoch} batches per epoch): edited after it was saved`,
  );
}

/**
 * Refuses, before anything is allocated, a run whose estimated memory exceeds the machine's budget (core/memory.ts).
 */
function assertFitsMemory(model: ModelChoice, config: TrainConfig): void {
  const { budget, where } = machineMemory();
  const problem = memoryProblem(
    estimateMemory(model.net.withDropout(config.dropout), config, frozenParameters(model.net, config)),
    budget,
    where,
  );
  if (problem) throw new UsageError(`${modelLabel(model.record)}: ${problem}; pass --no-memory-check to go ahead`);
}

const PROFILE_WARMUP = 5;

function printProfile(summary: ProfileSummary, trace: string): void {
  console.log(
    `\nprofile of ${summary.steps} training steps after ${PROFILE_WARMUP} warm-up steps, ` +
      `median step ${summary.stepMs.toFixed(1)} ms ` +
      `(trace: ${trace}, open it in https://ui.perfetto.dev or chrome://tracing):`,
  );
  console.log(formatProfile(summary));
}

/** What a run needs before it trains: its folder, recipe, data and model, and the checkpoint it resumes from. */
interface PreparedRun {
  folder: RunFolder;
  config: TrainConfig;
  data: Dataset;
  model: ModelChoice;
  resume?: TrainCheckpoint;
}

/**
 * Opens the run folder `out` and what it recorded: the model, the
 * newest checkpoint, the recipe with the flags a resume may change.
 */
async function prepareResumedRun(
  o: Options,
  out: string,
  given: (key: keyof Options) => boolean,
): Promise<PreparedRun> {
  const folder = openRunFolder(out);
  prepareCheckpointsForResume(folder.dir);
  // The model is fixed when the run starts (run.json); a --model must be the same one.
  const recordedModelFile = folder.record?.config.model;
  let model =
    o.model === undefined
      ? await recordedModel(recordedModelFile, folder.dir, folder.record?.config.builtin)
      : await loadModelFile(o.model);
  if (o.model !== undefined) assertSameModel(model, recordedModelFile, `the run in ${folder.dir}`);
  const runFile = join(folder.dir, 'run.json');
  const resume = loadNewestCheckpoint(
    folder.dir,
    model.net,
    warnSkipped,
    folder.record && assertRecipeOf(folder.record.config, runFile),
  );
  const recorded = resume?.trainer.config ?? folder.record?.config;
  if (!recorded) throw new UsageError(`${folder.dir}: no checkpoint and no run.json; nothing to resume`);
  const recordFile = resume ? join(resume.dir, 'trainer.json') : runFile;
  const config = resumedConfig(recorded, o, given, resume?.trainer.position ?? { epoch: 0, batch: 0, step: 0 });
  console.log(
    resume ? `resuming from ${resume.dir}` : `no checkpoint yet in ${folder.dir}: starting its run from the beginning`,
  );
  const data = await readRunData(config, model.net.inputShape);
  checkLimits(config, data, (key, value) =>
    given(key)
      ? fromFlag(key, value)
      : `${recordFile}: ${key} ${value}${key === 'threads' ? ' (pass --threads to override)' : ''}`,
  );
  if (resume) checkPosition(resume, config, data);
  // A run with no checkpoint yet starts again from its --init weights, which must not have changed.
  if (!resume && config.init) model = withInitialWeights(model, config.init.file, config.init).model;
  assertFitsData(model, data.train);
  if (o.memoryCheck) assertFitsMemory(model, config);
  return { folder, config, data, model, resume };
}

/**
 * Reads the data, fits the model to it and checks the recipe,
 * then makes the run folder: nothing is written before a refusal.
 */
async function prepareNewRun(o: Options): Promise<PreparedRun> {
  let model = o.model === undefined ? builtinModel() : await loadModelFile(o.model);
  let config: TrainConfig = { ...toConfig(o), ...(model.record && { model: model.record }) };
  const shape = o.model === undefined ? await builtinInputShape(config.dataDir) : model.net.inputShape;
  const data = await readRunData(config, shape); // bad data is refused before a run folder exists
  const builtin = o.model === undefined ? builtinShapeFor(data.train) : undefined;
  if (builtin) model = builtinModel(builtin); // the seed CNN fitted to the data's channels, size and classes
  if (o.init !== undefined) ({ model, record: config.init } = withInitialWeights(model, o.init));
  config = {
    ...config,
    ...(builtin && { builtin }),
    ...dataDefaults(data.train, {
      bundledMnist: config.dataDir === undefined,
      augment: o.augment === undefined ? undefined : config.augment,
    }),
  };
  checkLimits(config, data, fromFlag);
  assertFitsData(model, data.train);
  // a pattern that matches nothing, before the folder
  frozenParameters(model.net, config, { trainOnly: '--train-only', freeze: '--freeze' });
  if (o.memoryCheck) assertFitsMemory(model, config);
  // The run keeps a copy of its model file beside run.json, for the record and to restore it.
  const files: [string, Uint8Array][] =
    model.record && model.source ? [[modelCopyName(model.record), model.source]] : [];
  const folder = o.out
    ? createRunFolder(o.out, config, files)
    : createUniqueRunFolder(join('runs', timestamp()), config, files);
  return { folder, config, data, model };
}

/** Builds the run's sessions; a model ORT refuses is the model file's error, and leaves no new folder behind. */
async function createRun({ folder, config, data, model, resume }: PreparedRun, o: Options): Promise<TrainingRun> {
  const profile: ProfileOptions | undefined =
    o.profile === undefined
      ? undefined
      : { warmup: PROFILE_WARMUP, steps: o.profile === true ? 20 : o.profile, report: printProfile };
  try {
    return await TrainingRun.create(model.net, config, data, folder.dir, resume, profile);
  } catch (e) {
    folder.discard(); // a new folder that a refused model would leave behind blocks the same --out
    throw e instanceof NetworkError ? new FileError(modelLabel(model.record), e.message) : e;
  }
}

/** Trains to the last epoch, saying on Ctrl-C which checkpoint to resume from. */
async function trainToEnd(run: TrainingRun, { folder, config, model }: PreparedRun): Promise<void> {
  const out = folder.dir;
  console.log(`run folder: ${out}  (${run.stepsPerEpoch} steps per epoch)`);
  for (const note of model.net.notes()) console.log(`note: ${note}`);
  if (run.done) console.log(`the run has already trained its ${config.epochs} epochs; pass a larger --epochs to go on`);
  process.once('SIGINT', () => {
    const last = run.lastCheckpoint ?? 'none yet';
    console.error(`\ninterrupted: the last complete checkpoint is ${last}; continue with --out ${out} --resume`);
    process.exit(130); // the run's lock is given back on exit
  });
  try {
    await run.run(consoleProgress(config.epochs));
  } catch (e) {
    if (run.lastCheckpoint === undefined) folder.discard(); // nothing worth keeping, and it would block the same --out
    throw e instanceof BrokenModelError ? new FileError(modelLabel(model.record), e.message) : e;
  }
  await run.close();
  folder.release();
  const best = Math.max(...run.history.map((m) => m.test_acc ?? 0));
  console.log(`best test accuracy ${(100 * best).toFixed(2)}%; metrics in ${join(out, 'metrics.jsonl')}`);
}

runCommand(async () => {
  const o = parseCommand(program).opts<Options>();
  const given = (key: keyof Options) => program.getOptionValueSource(key) === 'cli';
  if (o.resume && !o.out) throw new UsageError('--resume needs --out <dir>, the run folder to continue');
  if (o.resume && o.init !== undefined)
    throw new UsageError(
      '--init sets the weights a run starts from; a resumed run continues from its own (drop --init)',
    );
  environmentSwitches(); // a junk ONNX_MNIST_* value is refused before anything is made
  const prepared = o.resume && o.out ? await prepareResumedRun(o, o.out, given) : await prepareNewRun(o);
  await trainToEnd(await createRun(prepared, o), prepared);
});
