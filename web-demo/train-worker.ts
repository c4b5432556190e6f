/**
 * The training page's worker: the seed CNN trained from scratch with the same core as
 * `npm run train` (src/train/core's TrainingLoop, InlineBatches, Evaluator; src/model's
 * graphs; src/data's batches, augmentation and IDX checks). Only the runtime differs:
 * onnxruntime-web's WebAssembly backend instead of onnxruntime-node. Running here keeps the
 * page responsive; nothing leaves the page (MNIST comes from the page's own server).
 */
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import type { Split } from '../src/data/dataset.js';
import { DataError, isGzip } from '../src/data/idx-format.js';
import { type IdxFile, MNIST_FILES, type SplitName, splitFromIdx } from '../src/data/mnist-format.js';
import { trainStepGraph } from '../src/model/graphs.js';
import type { StateDict } from '../src/model/network.js';
import { seedCnn } from '../src/model/seed-cnn.js';
import { InlineBatches } from '../src/train/core/batch-source.js';
import { Evaluator } from '../src/train/core/evaluator.js';
import type { Runtime } from '../src/train/core/runtime.js';
import { type Snapshot, TrainingLoop } from '../src/train/core/training-loop.js';
import { webRuntime, type WebRuntimeOptions } from './ort-web-runtime.js';
import { ControlledBatches, RunControl, StoppedError } from './run-control.js';
import type { FromWorker, ToWorker } from './train-protocol.js';
import { batchOptions, plannedSteps, type RunChoice, trainConfig } from './train-recipe.js';

/** The worker's side of postMessage (the project's lib is DOM, whose `self` is a Window: same shape for these two). */
interface WorkerScope {
  postMessage(message: FromWorker, options?: { transfer?: Transferable[] }): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void;
}
const scope: WorkerScope = self;
const post = (message: FromWorker) => scope.postMessage(message);

/** The newest snapshot (after each epoch, and at the end of a step-limited run), kept in memory. */
let latest: Snapshot | undefined;

const copyState = (state: StateDict): StateDict => new Map([...state].map(([name, t]) => [name, { shape: t.shape, data: t.data.slice() }]));

/** The core hands out views of its live state, which the next step overwrites: keep copies. */
function save(snapshot: Snapshot): string {
  latest = { ...snapshot, model: copyState(snapshot.model), optimizer: copyState(snapshot.optimizer), metrics: [...snapshot.metrics] };
  return `memory (step ${latest.position.step})`;
}

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

/** One split, checked by the same code as the Node loader's. */
async function fetchSplit(dataUrl: string, split: SplitName): Promise<Split> {
  const [images, labels] = await Promise.all(MNIST_FILES[split].map((name) => fetchIdx(dataUrl, name)));
  return splitFromIdx(images, labels);
}

/**
 * onnxruntime-web is imported here, on first use, so that the bundler gives it a chunk of its
 * own: its WebAssembly threads are workers started from that chunk's URL, and would otherwise
 * run this whole module again.
 */
async function loadRuntime(options: WebRuntimeOptions): Promise<{ runtime: Runtime; threads: number }> {
  const ort = await import('onnxruntime-web/wasm');
  // The .wasm comes from this build, never a CDN. Threads need SharedArrayBuffer, i.e. a cross-origin isolated page.
  ort.env.wasm.wasmPaths = { wasm: wasmUrl };
  const threads = crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  ort.env.wasm.numThreads = threads;
  return { runtime: webRuntime(ort, options), threads };
}

let currentStep = 0;
let running = false;
const control = new RunControl({
  onPaused: () => post({ type: 'paused', step: currentStep }),
  onResumed: () => post({ type: 'resumed' }),
});

/** Posts the carried state fed to each of the first `steps` training steps (the test hook of ToWorker's `traceSteps`). */
function stateTracer(steps: number, carried: () => readonly string[]): WebRuntimeOptions {
  let step = 0;
  return {
    onTrainStep(feeds) {
      if (step >= steps) return;
      const state = Object.fromEntries(carried().map((name) => [name, (feeds[name].data as Float32Array).slice()]));
      scope.postMessage({ type: 'trace', step: step++, state }, { transfer: Object.values(state).map((a) => a.buffer) });
    },
  };
}

/** Test accuracy of the state where a stopped run stopped (the loop evaluates only at an epoch's or the run's end). */
async function evaluateNow(loop: TrainingLoop, runtime: Runtime, test: Split): Promise<number> {
  post({ type: 'evaluating', images: test.count });
  const evaluator = await Evaluator.create(loop.net, runtime);
  try {
    const r = await evaluator.evaluate(loop.modelState(), test);
    return r.correct / r.count;
  } finally {
    await evaluator.release();
  }
}

/** Runs `loop` to its end or until stopped; returns the final test accuracy. */
async function runLoop(loop: TrainingLoop, batches: ControlledBatches, runtime: Runtime, test: Split): Promise<{ stopped: boolean; testAccuracy: number }> {
  try {
    const history = await loop.run({
      onBatch: (info) => {
        currentStep = info.step;
        post({ type: 'step', report: { epoch: info.epoch, step: info.step, loss: info.loss, lr: info.lr, ms: performance.now() - batches.stepStartedAt } });
      },
      onEpochEnd: (metrics) => post({ type: 'epoch', metrics }),
    });
    return { stopped: false, testAccuracy: history[history.length - 1].test_acc };
  } catch (e) {
    if (!(e instanceof StoppedError)) throw e;
    return { stopped: true, testAccuracy: await evaluateNow(loop, runtime, test) };
  }
}

async function train(choice: RunChoice, dataUrl: string, traceSteps: number): Promise<void> {
  const started = performance.now();
  const finish = (stopped: boolean, testAccuracy: number | null) =>
    post({ type: 'done', stopped, step: currentStep, testAccuracy, seconds: (performance.now() - started) / 1000 });
  post({ type: 'phase', text: 'loading onnxruntime-web…' });
  let carried: readonly string[] = [];
  const { runtime, threads } = await loadRuntime(traceSteps > 0 ? stateTracer(traceSteps, () => carried) : {});
  post({ type: 'phase', text: 'loading MNIST (60,000 + 10,000 images, 11.5 MB gzipped)…' });
  const [train, test] = await Promise.all([fetchSplit(dataUrl, 'train'), fetchSplit(dataUrl, 'test')]);
  const config = trainConfig(choice, train.count, threads);
  const net = seedCnn({ dropout: config.dropout });
  post({ type: 'phase', text: 'building the training graph…' });
  const graph = trainStepGraph(net, config.batchSize, config.optimizer);
  carried = graph.carried.map((e) => e.name);
  const onEpochDone = () => post({ type: 'evaluating', images: test.count });
  const batches = new ControlledBatches(new InlineBatches(train, batchOptions(config, train, graph.masks)), control, onEpochDone);
  const loop = await TrainingLoop.create(net, config, { runtime, batches, test, save });
  try {
    if (control.stopped) return finish(true, null); // stopped while loading: nothing was trained
    post({ type: 'started', totalSteps: plannedSteps(config, loop.stepsPerEpoch), stepsPerEpoch: loop.stepsPerEpoch, epochs: config.epochs, threads });
    const { stopped, testAccuracy } = await runLoop(loop, batches, runtime, test);
    finish(stopped, testAccuracy);
  } finally {
    await loop.close();
  }
}

scope.addEventListener('message', (e) => {
  const message = e.data;
  switch (message.type) {
    case 'start':
      if (running) return;
      running = true;
      train(message.choice, message.dataUrl, message.traceSteps)
        .catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }))
        .finally(() => (running = false));
      return;
    case 'pause':
      return control.pause();
    case 'resume':
      return control.resume();
    case 'stop':
      return control.stop();
  }
});
