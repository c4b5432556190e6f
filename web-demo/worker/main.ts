/**
 * The pages' training worker: a network trained from scratch (train.html) with the library's
 * Trainer, as any app would (src/api/trainer.ts: fit, then the verified export and the state
 * for the downloads), or an exported model fine-tuned on the user's own digits (index.html,
 * src/train/core's fineTune). The same core as `npm run train`; only the runtime differs:
 * onnxruntime-web on WebGPU or WebAssembly (src/web) instead of onnxruntime-node. Running here
 * keeps the page responsive; nothing leaves the page (MNIST comes from the page's own server).
 */
import { Trainer } from '../../src/api/trainer.js';
import type { Split } from '../../src/data/dataset.js';
import { DataError, isGzip } from '../../src/data/idx-format.js';
import { type IdxFile, MNIST_FILES, type SplitName, splitFromIdx } from '../../src/data/mnist-format.js';
import { MNIST_NORMALIZATION } from '../../src/data/normalize.js';
import { inferenceModelBytes } from '../../src/export/inference.js';
import { INPUT, PROBABILITIES } from '../../src/export/model-io.js';
import { foldedStateFromModel } from '../../src/export/model-weights.js';
import { exportVerified, type Verification } from '../../src/export/verify-core.js';
import { ModelExportsError, networkFromExports } from '../../src/model/model-exports.js';
import type { Network, StateDict } from '../../src/model/network.js';
import { ImportError, importOnnx } from '../../src/model/onnx-import.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { dataMismatch } from '../../src/train/core/model-fit.js';
import { type ClassifierResult, classifierResult, Evaluator } from '../../src/train/core/evaluator.js';
import { FINE_TUNE, fineTune, ownExamples } from '../../src/train/core/fine-tune.js';
import { forgettingNote } from '../../src/train/core/forgetting.js';
import type { Runtime } from '../../src/train/core/runtime.js';
import { encodeModelState } from '../../src/train/core/state-file.js';
import { ExpectedError } from '../../src/util/errors.js';
import { BUILTIN, exampleExports, isFileModel } from '../shared/example-models.js';
import { webRuntime, type WebRuntimeOptions } from '../../src/web/runtime.js';
import { type Backend, loadOrt, openSession, webgpuAdapter } from '../shared/backend.js';
import { fallbackNote, outputData } from '../../src/web/checked-session.js';
import { RunControl } from './run-control.js';
import type { DownloadCheck, FromWorker, OnnxUpload, ToWorker } from '../shared/protocol.js';
import { plannedSteps, trainConfig } from '../shared/recipe.js';

/** Sends the page a message of the protocol (shared/protocol.ts), moving `transfer`'s buffers. */
const post = (message: FromWorker, transfer: Transferable[] = []) => self.postMessage(message, { transfer });

/** What an ended run leaves for the downloads: its trainer (its state is the downloads') and the split that checks an export. */
interface Trained {
  trainer: Trainer;
  test: Split;
}
let trained: Trained | undefined;
/** The downloads of `trained`, made (and checked) once. */
let downloads: Extract<FromWorker, { type: 'exported' }> | undefined;

/**
 * Fetches one gzipped IDX file and gunzips it. Some static servers (Vite's preview among them)
 * send a `.gz` file with `Content-Encoding: gzip`, and the browser then hands over the plain
 * bytes: the gzip magic, not the server, decides whether there is anything to gunzip.
 */
async function fetchIdx(dataUrl: string, name: string): Promise<IdxFile> {
  const url = `${dataUrl}${name}.gz`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${url} (HTTP ${res.status})`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!isGzip(bytes)) return { name: `${name}.gz`, bytes };
  const plain = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  try {
    return { name: `${name}.gz`, bytes: new Uint8Array(await new Response(plain).arrayBuffer()) };
  } catch (e) {
    throw new DataError(url, `corrupt gzip data (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** One split, checked by the same code as the Node loader's; fetched once per worker. */
const splits = new Map<string, Promise<Split>>();
function fetchSplit(dataUrl: string, split: SplitName): Promise<Split> {
  const key = `${dataUrl}${split}`;
  let loading = splits.get(key);
  if (!loading) {
    loading = Promise.all(MNIST_FILES[split].map((name) => fetchIdx(dataUrl, name))).then(([images, labels]) => splitFromIdx(images, labels));
    loading.catch(() => splits.delete(key)); // a failed fetch may be retried
    splits.set(key, loading);
  }
  return loading;
}

/** WebAssembly threads: more than one needs SharedArrayBuffer, i.e. a cross-origin isolated page. */
const threadCount = () => (crossOriginIsolated ? navigator.hardwareConcurrency : 1);

/** The test hooks a runtime may carry (state traces, WebGPU step checks). */
type RuntimeHooks = Omit<WebRuntimeOptions, 'backend'>;

/**
 * onnxruntime-web on `requested`: WebGPU when this worker gets an adapter, else WebAssembly. The
 * page hears which runs, and again if WebGPU is dropped because it disagreed with WebAssembly.
 */
async function loadRuntime(requested: Backend, hooks: RuntimeHooks = {}): Promise<{ runtime: Runtime; threads: number }> {
  const adapter = requested === 'webgpu' ? await webgpuAdapter() : null;
  const backend: Backend = adapter ? 'webgpu' : 'wasm';
  const note = requested === 'webgpu' && !adapter ? 'this browser gives no WebGPU adapter: running on WebAssembly' : undefined;
  post({ type: 'backend', backend, adapter, note });
  const ort = await loadOrt(backend, threadCount());
  const runtime = webRuntime(ort, {
    ...hooks,
    backend,
    onCheck(role, report) {
      if (!report.trusted) post({ type: 'backend', backend: 'wasm', adapter, note: fallbackNote(role === 'eval' ? 'evaluation' : 'training step', report) });
      hooks.onCheck?.(role, report);
    },
  });
  return { runtime, threads: ort.env.wasm.numThreads ?? 1 };
}

let currentStep = 0;
let running = false;
const control = new RunControl({
  onPaused: () => post({ type: 'paused', step: currentStep }),
  onResumed: () => post({ type: 'resumed' }),
});

/** Posts the carried state fed to each of the first `steps` training steps (the test hook of ToWorker's `traceSteps`). */
function stateTracer(steps: number, carried: () => readonly string[]): RuntimeHooks {
  let step = 0;
  return {
    onTrainStep(feeds) {
      if (step >= steps) return;
      const state = Object.fromEntries(carried().map((name) => [name, (feeds[name].data as Float32Array).slice()]));
      post(
        { type: 'trace', step: step++, state },
        Object.values(state).map((a) => a.buffer),
      );
    },
  };
}

/** Posts both sides of each of the first `steps` WebGPU training steps checked against WebAssembly (the test hook of ToWorker's `checkSteps`). */
function stepChecker(steps: number): RuntimeHooks {
  const floats = (results: Parameters<typeof outputData>[0] | null) =>
    Object.fromEntries(Object.entries(results ? outputData(results) : {}).map(([name, data]) => [name, Float32Array.from(data, Number)]));
  return {
    checkSteps: steps,
    onCheck(role, report) {
      if (role !== 'train-step' || report.run >= steps) return;
      const webgpu = floats(report.webgpu);
      const wasm = floats(report.wasm);
      post(
        { type: 'step-check', step: report.run, webgpu, wasm },
        [...Object.values(webgpu), ...Object.values(wasm)].map((a) => a.buffer),
      );
    },
  };
}

/**
 * Fits `trainer` to its end or until stopped, posting each step and epoch; returns the test
 * accuracy where it ended (a stopped run's partial epoch is evaluated and counts as one).
 */
async function runFit(trainer: Trainer, train: Split, test: Split): Promise<{ stopped: boolean; testAccuracy: number | null }> {
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
      throw e instanceof ImportError ? new ExpectedError(`${onnx.name}: ${e.message}`) : e;
    }
  }
  const where = `examples/${id}.ts`;
  try {
    return { net: networkFromExports(id, await exampleExports(id)), where };
  } catch (e) {
    throw e instanceof ModelExportsError ? new ExpectedError(`${where}: ${e.message}`) : e;
  }
}

/** The chosen network, checked as `--model` checks a file: it takes the data's images and gives its classes. */
async function chosenNetwork(id: string, data: Split, onnx?: OnnxUpload): Promise<Network> {
  if (id === BUILTIN) return seedCnn();
  const { net, where } = await networkOf(id, onnx);
  let problem: string | undefined;
  try {
    problem = dataMismatch(net, data);
  } catch (e) {
    problem = e instanceof ExpectedError ? e.message : String(e); // a layer that does not fit, named
  }
  if (problem) throw new ExpectedError(`${where}: ${problem}`);
  return net;
}

async function train({ choice, dataUrl, traceSteps, checkSteps, backend, onnx }: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const started = performance.now();
  const finish = (stopped: boolean, testAccuracy: number | null) =>
    post({ type: 'done', stopped, step: currentStep, testAccuracy, seconds: (performance.now() - started) / 1000 });
  await trained?.trainer.close(); // a new run: the previous one's downloads are gone with its worker's state
  trained = undefined;
  post({ type: 'phase', text: 'loading onnxruntime-web…' });
  let carried: readonly string[] = [];
  const { runtime, threads } = await loadRuntime(backend, { ...stateTracer(traceSteps, () => carried), ...stepChecker(checkSteps) });
  post({ type: 'phase', text: 'loading MNIST (60,000 + 10,000 images, 11.5 MB gzipped)…' });
  const [train, test] = await Promise.all([fetchSplit(dataUrl, 'train'), fetchSplit(dataUrl, 'test')]);
  const config = trainConfig(choice, train.count, threads);
  const net = await chosenNetwork(choice.model, train, onnx);
  post({ type: 'phase', text: 'building the training graph…' });
  const trainer = await Trainer.create(net, config, runtime);
  carried = trainer.carriedNames;
  trained = { trainer, test };
  if (control.stopped) return finish(true, null); // stopped while loading: nothing was trained
  const stepsPerEpoch = Math.ceil(train.count / config.batchSize);
  post({ type: 'started', totalSteps: plannedSteps(config, stepsPerEpoch), stepsPerEpoch, epochs: config.epochs, threads });
  const { stopped, testAccuracy } = await runFit(trainer, train, test);
  finish(stopped, testAccuracy);
}

/**
 * The downloads, as `npm run export` makes and checks them: BatchNorm folded into the convs,
 * the inference graph (no dropout, normalisation inside) serialised, and that model checked
 * against the evaluation graph of the same state on the whole test split (src/export's
 * verify-core, here on onnxruntime-web): a failed check offers nothing. With it, the model's
 * state dict as safetensors (PyTorch's names, as in a checkpoint's model.safetensors).
 */
async function prepareDownloads(): Promise<FromWorker> {
  if (!trained || trained.trainer.history.length === 0) return { type: 'export-refused', message: 'nothing has been trained yet' };
  const { trainer, test } = trained;
  const { step } = trainer.position;
  if (downloads?.step === step) return downloads;
  post({ type: 'phase', text: `checking the exported model against the evaluation graph on ${test.count.toLocaleString('en-US')} test images…` });
  const { onnx, verification } = await trainer.exportInference(test, { source: 'trained in the browser (train.html, onnxruntime-web)' });
  downloads = { type: 'exported', step, onnx, checkpoint: trainer.state(), verification: downloadCheck(verification) };
  return downloads;
}

/**
 * Exports `model` of `net` and checks it on `test` against the evaluation graph, as `npm run
 * export` does (src/export's exportVerified); a failed check throws, its message ending in
 * `consequence`.
 */
async function exportChecked(
  runtime: Runtime,
  net: Network,
  model: StateDict,
  test: Split,
  metadata: Record<string, string>,
  consequence: string,
): Promise<{ onnx: Uint8Array; verification: Verification }> {
  const { graph, verification } = await exportVerified(runtime, net, model, test, MNIST_NORMALIZATION, consequence);
  return { onnx: inferenceModelBytes(graph, metadata), verification };
}

/** What the page is told of an export check. */
const downloadCheck = (v: Verification): DownloadCheck => ({
  count: v.count,
  correct: v.correct,
  maxProbabilityDifference: v.maxProbabilityDifference,
  disagreements: v.disagreements,
});

/** The shipped model's evaluation on the test split, kept for the model it was made of (teaching starts from it each time). */
let shippedScore: { bytes: Uint8Array; score: ClassifierResult } | undefined;
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

async function scoreOfShipped(bytes: Uint8Array, net: Network, model: StateDict, runtime: Runtime, test: Split): Promise<ClassifierResult> {
  if (shippedScore && sameBytes(shippedScore.bytes, bytes)) return shippedScore.score;
  const evaluator = await Evaluator.create(net, runtime, MNIST_NORMALIZATION);
  try {
    const score = classifierResult(await evaluator.evaluate(model, test));
    shippedScore = { bytes: bytes.slice(), score };
    return score;
  } finally {
    await evaluator.release();
  }
}

/**
 * "Teach it your handwriting": the exported model's weights (BatchNorm already folded, so its
 * statistics stay frozen) fine-tuned on the user's examples mixed with MNIST until each reads
 * as taught (src/train/core's fineTune), then exported and checked on the 10k test images,
 * whose accuracy the page shows, with a sentence naming what MNIST lost when that fell by more
 * than 0.3 points (src/train/core/forgetting.ts).
 */
async function tune({ model: modelBytes, inputs, labels, dataUrl, backend }: Extract<ToWorker, { type: 'tune' }>): Promise<void> {
  const started = performance.now();
  const net = seedCnn().withBatchNormFolded();
  const model = foldedStateFromModel(modelBytes, net);
  const own = ownExamples(
    Array.from(labels, (_, i) => inputs.subarray(i * 784, (i + 1) * 784)),
    Array.from(labels),
  );
  post({ type: 'phase', text: 'loading MNIST to mix in (so the model does not forget)…' });
  const [{ runtime }, base, test] = await Promise.all([loadRuntime(backend), fetchSplit(dataUrl, 'train'), fetchSplit(dataUrl, 'test')]);
  const tuned = await fineTune({ net, model, own, base, runtime, onStep: (step, loss) => post({ type: 'tune-step', step, steps: FINE_TUNE.maxSteps, loss }) });
  post({ type: 'evaluating', images: test.count });
  const before = await scoreOfShipped(modelBytes, net, model, runtime, test);
  const metadata = {
    producer: 'index.html (onnxruntime-web)',
    source: `fine-tuned in the browser on ${own.count} drawn digits`,
    steps: String(tuned.steps),
  };
  const { onnx, verification } = await exportChecked(runtime, net, tuned.model, test, metadata, 'the page keeps the model it had');
  const checkpoint = encodeModelState(tuned.model, net, tuned.steps);
  post({
    type: 'tuned',
    onnx,
    checkpoint,
    verification: downloadCheck(verification),
    seconds: (performance.now() - started) / 1000,
    steps: tuned.steps,
    learned: tuned.learned,
    shippedAccuracy: before.correct / before.count,
    forgetting: forgettingNote(before, verification),
  });
}

/** Probabilities of `count` inputs under `model` (the classify test hook). */
async function classify(model: Uint8Array, inputs: Float32Array, count: number): Promise<Float32Array> {
  const ort = await loadOrt('wasm', threadCount());
  const session = await openSession(ort, model, 'wasm');
  try {
    const out = await session.run({ [INPUT]: new ort.Tensor('float32', inputs, [count, 1, 28, 28]) });
    return (out[PROBABILITIES].data as Float32Array).slice();
  } finally {
    await session.release();
  }
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

self.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const message = e.data;
  switch (message.type) {
    case 'start':
      if (running) return;
      running = true;
      train(message)
        .catch((error: unknown) => post({ type: 'error', message: messageOf(error) }))
        .finally(() => (running = false));
      return;
    case 'pause':
      return control.pause();
    case 'resume':
      return control.resume();
    case 'stop':
      return control.stop();
    case 'export':
      if (running) return post({ type: 'export-refused', message: 'the run has not ended yet' });
      prepareDownloads()
        .then(post)
        .catch((error: unknown) =>
          post({ type: 'export-refused', message: error instanceof ExpectedError ? error.message : `could not export: ${messageOf(error)}` }),
        );
      return;
    case 'tune':
      if (running) return post({ type: 'tune-failed', message: 'a run is going on' });
      running = true;
      tune(message)
        .catch((error: unknown) => post({ type: 'tune-failed', message: messageOf(error) }))
        .finally(() => (running = false));
      return;
    case 'classify': {
      const { id, model, inputs, count } = message;
      classify(model, inputs, count)
        .then((probabilities) => post({ type: 'classified', id, probabilities }, [probabilities.buffer]))
        .catch((error: unknown) => post({ type: 'classify-failed', id, message: messageOf(error) }));
      return;
    }
  }
});
