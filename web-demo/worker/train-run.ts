/**
 * train.html's runs: the chosen network (the seed CNN, an examples/ file, or an .onnx the page
 * was given) fitted by the library's Trainer on MNIST, with pause and stop between steps
 * (run-control.ts), and the downloads made from the trainer: its verified export and its state.
 */
import { Trainer } from '../../src/api/trainer.js';
import { RecipeError } from '../../src/train/core/trainer.js';
import { MNIST_CLASSES, type Split } from '../../src/data/dataset.js';
import type { Verification } from '../../src/export/verify-core.js';
import { ModelExportsError, networkFromExports } from '../../src/model/model-exports.js';
import { type Network, NetworkError } from '../../src/model/network.js';
import { ImportError, importOnnx } from '../../src/model/onnx-import.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import type { TrainConfig } from '../../src/train/core/config.js';
import type { Runtime } from '../../src/train/core/runtime.js';
import { NotPortableError } from '../../src/graph/builder.js';
import { dataDefaults } from '../../src/train/core/data-recipe.js';
import { dataMismatch } from '../../src/train/core/model-fit.js';
import { DEFAULT_RECIPE } from '../../src/train/core/recipe.js';
import { BrokenModelError, DivergedError } from '../../src/train/core/training-loop.js';
import { ExpectedError, messageOf } from '../../src/util/errors.js';
import { BUILTIN, exampleExports, isFileModel } from '../shared/example-models.js';
import type { DownloadCheck, FromWorker, OnnxUpload, ToWorker } from '../shared/protocol.js';
import { divergedInPage, plannedSteps, tooLargeInPage, trainConfig } from '../shared/recipe.js';
import { decodeFolder, folderInputShape } from './image-folder.js';
import { fetchSplit } from './mnist.js';
import { post } from './post.js';
import { RunControl } from './run-control.js';
import { loadRuntime, stateTracer, stepChecker } from './runtime.js';

/**
 * What an ended run leaves for the downloads: its trainer (its
 * state is the downloads') and the split that checks an export.
 */
interface Trained {
  trainer: Trainer;
  test: Split;
}
let trained: Trained | undefined;
/** The downloads of `trained`, made (and checked) once. */
let downloads: Extract<FromWorker, { type: 'exported' }> | undefined;

let currentStep = 0;
/** Pause, resume and stop of the run (a worker runs one). */
export const control = new RunControl({
  onPaused: () => post({ type: 'paused', step: currentStep }),
  onResumed: () => post({ type: 'resumed' }),
});

/**
 * Fits `trainer` to its end or until stopped, posting each step and epoch; returns the test
 * accuracy where it ended (a stopped run's partial epoch is evaluated and counts as one).
 */
async function runFit(
  trainer: Trainer,
  train: Split,
  test: Split,
): Promise<{ stopped: boolean; testAccuracy: number | null }> {
  const { stopped, history } = await trainer.fit(train, {
    validation: test,
    signal: control.signal,
    onStep: (info) => {
      currentStep = info.step;
      post({ type: 'step', report: { epoch: info.epoch, step: info.step, loss: info.loss, lr: info.lr, ms: info.ms } });
      return control.gate(); // lets the page's messages in, and waits while paused
    },
    onEvaluating: (count) => post({ type: 'evaluating', images: count }),
    onEpoch: (metrics) => {
      post({ type: 'epoch', metrics });
      post({ type: 'snapshot', step: metrics.step });
    },
  });
  return { stopped, testAccuracy: history.at(-1)?.test_acc ?? null };
}

/** The network a file names or an example holds; `where` names it in messages. */
async function networkOf(id: string, onnx: OnnxUpload | undefined): Promise<{ net: Network; where: string }> {
  if (isFileModel(id)) {
    if (!onnx) throw new ExpectedError('no .onnx was given to the page');
    try {
      return { net: importOnnx(onnx.bytes, onnx.name.replace(/\.onnx$/i, '')).net, where: onnx.name };
    } catch (e) {
      // An ImportError, or a NetworkError of its weights (an initializer its layer does not fit): named by the file.
      throw e instanceof ImportError || e instanceof NetworkError ? new ExpectedError(`${onnx.name}: ${e.message}`) : e;
    }
  }
  const where = `examples/${id}.ts`;
  try {
    return { net: networkFromExports(id, await exampleExports(id)), where };
  } catch (e) {
    throw e instanceof ModelExportsError ? new ExpectedError(`${where}: ${e.message}`) : e;
  }
}

/** A network checked as `--model` checks a file: it takes the data's images and gives its classes. */
function checkedAgainst({ net, where }: { net: Network; where: string }, data: Split): Network {
  let problem: string | undefined;
  try {
    problem = dataMismatch(net, data);
  } catch (e) {
    problem = e instanceof ExpectedError ? e.message : String(e); // a layer that does not fit, named
  }
  if (problem) throw new ExpectedError(`${where}: ${problem}`);
  return net;
}

/** MNIST from the page's server, or the user's folder decoded at `shape`, with what the user should hear of it. */
async function runData(
  start: StartMessage,
  shape: () => Promise<readonly number[]>,
  seed: number,
): Promise<{ train: Split; test: Split }> {
  const { folder, dataUrl } = start;
  if (!folder) {
    post({ type: 'phase', text: 'loading MNIST (60,000 + 10,000 images, 11.5 MB gzipped)…' });
    const [train, test] = await Promise.all([fetchSplit(dataUrl, 'train'), fetchSplit(dataUrl, 'test')]);
    return { train, test };
  }
  post({ type: 'phase', text: `looking at ${folder.name}…` });
  const at = await shape();
  const { train, test, notes } = await decodeFolder(folder, at, seed, (done, total) =>
    post({
      type: 'phase',
      text:
        `decoding ${folder.name}: ` +
        `${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} images at [${at.join(',')}]…`,
    }),
  );
  for (const note of notes) post({ type: 'note', text: `${folder.name}: ${note}` });
  return { train, test };
}

/**
 * The run's network, data and recipe: the chosen network (the seed CNN fitted to the data's
 * shape and classes, or a model checked against them), and the recipe's normalisation and
 * augmentation as `--data` takes them from the data (core/data-recipe.ts).
 */
async function prepareRun(
  start: StartMessage,
  threads: number,
): Promise<{ net: Network; train: Split; test: Split; config: TrainConfig }> {
  const chosen = start.choice.model === BUILTIN ? undefined : await networkOf(start.choice.model, start.onnx);
  const folder = start.folder;
  const shape = async () => chosen?.net.inputShape ?? (folder ? await folderInputShape(folder) : [1, 28, 28]);
  const { train, test } = await runData(start, shape, DEFAULT_RECIPE.seed);
  const classes = train.classNames?.length ?? MNIST_CLASSES;
  const net = chosen ? checkedAgainst(chosen, train) : seedCnn({ inputShape: train.shape, classes });
  const config = {
    ...trainConfig(start.choice, train.count, threads),
    ...dataDefaults(train, { bundledMnist: !folder }),
  };
  return { net, train, test, config };
}

type StartMessage = Extract<ToWorker, { type: 'start' }>;

/**
 * The run's trainer on `runtime`. On WebGPU (portable graphs: only the ops its provider runs), a
 * network whose training graph cannot be built portably (MaxPool windows that overlap, as in
 * SqueezeNet, ShuffleNet and DenseNet stems: their gradient needs MaxPool's Indices, which WebGPU
 * lacks) trains on WebAssembly instead (`onWasm` loads it, the page told why), as a network
 * WebGPU computes wrong does (src/web/checked-session.ts). Any other refusal stands.
 */
async function createTrainer(
  net: Network,
  config: TrainConfig,
  runtime: Runtime,
  onWasm: (note: string) => Promise<{ runtime: Runtime }>,
): Promise<Trainer> {
  try {
    return await Trainer.create(net, config, runtime);
  } catch (e) {
    if (!(e instanceof NotPortableError)) throw e;
    const wasm = await onWasm(
      `WebGPU cannot run this network's training step (${messageOf(e)}): running on WebAssembly`,
    );
    return Trainer.create(net, config, wasm.runtime);
  }
}

export async function train(start: StartMessage): Promise<void> {
  const { traceSteps, checkSteps, backend } = start;
  const started = performance.now();
  const finish = (stopped: boolean, testAccuracy: number | null) =>
    post({ type: 'done', stopped, step: currentStep, testAccuracy, seconds: (performance.now() - started) / 1000 });
  await trained?.trainer.close(); // a new run: the previous one's downloads are gone with its worker's state
  trained = undefined;
  post({ type: 'phase', text: 'loading onnxruntime-web…' });
  let carried: readonly string[] = [];
  const hooks = { ...stateTracer(traceSteps, () => carried), ...stepChecker(checkSteps) };
  const { runtime, threads } = await loadRuntime(backend, hooks);
  const { net, train, test, config } = await prepareRun(start, threads);
  post({ type: 'phase', text: 'building the training graph…' });
  const trainer = await createTrainer(net, config, runtime, (note) => loadRuntime('wasm', hooks, note)).catch(
    (e: unknown) => {
      throw e instanceof RecipeError ? new ExpectedError(tooLargeInPage(e.message, config.batchSize)) : e;
    },
  );
  carried = trainer.carriedNames;
  trained = { trainer, test };
  if (control.stopped) return finish(true, null); // stopped while loading: nothing was trained
  const stepsPerEpoch = Math.ceil(train.count / config.batchSize);
  post({
    type: 'started',
    totalSteps: plannedSteps(config, stepsPerEpoch),
    stepsPerEpoch,
    epochs: config.epochs,
    threads,
  });
  const { stopped, testAccuracy } = await runFit(trainer, train, test).catch((e: unknown) => {
    throw e instanceof DivergedError ? new ExpectedError(divergedInPage(e.message, e instanceof BrokenModelError)) : e;
  });
  finish(stopped, testAccuracy);
}

/**
 * The downloads, as `npm run export` makes and checks them: BatchNorm folded into the convs,
 * the inference graph (no dropout, normalisation inside) serialised, and that model checked
 * against the evaluation graph of the same state on the whole test split (src/export's
 * verify-core, here on onnxruntime-web): a failed check offers nothing. With it, the model's
 * state dict as safetensors (PyTorch's names, as in a checkpoint's model.safetensors).
 */
export async function prepareDownloads(): Promise<FromWorker> {
  if (!trained || trained.trainer.history.length === 0)
    return { type: 'export-refused', message: 'nothing has been trained yet' };
  const { trainer, test } = trained;
  const { step } = trainer.position;
  if (downloads?.step === step) return downloads;
  post({
    type: 'phase',
    text:
      `checking the exported model against the evaluation graph ` +
      `on ${test.count.toLocaleString('en-US')} test images…`,
  });
  const { onnx, verification } = await trainer.exportInference(test, {
    source: 'trained in the browser (train.html, onnxruntime-web)',
  });
  downloads = { type: 'exported', step, onnx, checkpoint: trainer.state(), verification: downloadCheck(verification) };
  return downloads;
}

/** What the page is told of an export check. */
export const downloadCheck = (v: Verification): DownloadCheck => ({
  count: v.count,
  correct: v.correct,
  maxProbabilityDifference: v.maxProbabilityDifference,
  disagreements: v.disagreements,
});
