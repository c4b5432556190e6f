/**
 * The pages' test hooks, all in this module: what the browser tests (test/web) and
 * `npm run bench:browser` read from the pages, `window.mnistDemo` on the draw page and
 * `window.mnistTrain` on the training page. They are switched on only in a build made for tests
 * (Vite's `mode: 'test'`, as test/helpers/demo-site.ts builds). In any other build TESTING is
 * false when the bundle is made, every function below does nothing, and the pages put nothing on
 * `window` (test/web/shipped-build.slow.test.ts checks the shipped build for the names).
 */
import type { EpochMetrics } from '../../src/train/core/config.js';
import type { DownloadCheck, FromWorker, StepReport, ToWorker } from './protocol.js';

const TESTING = import.meta.env.MODE === 'test';

/** The draw page's "Teach it your handwriting": what the last fine-tune gave. */
export interface TeachHooks {
  examples: number;
  tunedAccuracy: number | null;
  /** Steps the last fine-tune took. */
  steps: number | null;
  /** The sentence saying what MNIST lost, when it lost more than 0.3 points (null otherwise). */
  forgetting: string | null;
  done: boolean;
}

/** The draw page: the last model input and output, and direct classification. */
export interface DemoHooks {
  /** Results shown so far (a test waits for this to move). */
  shown: number;
  lastInput: number[] | null;
  lastProbabilities: number[] | null;
  classify(input: number[]): Promise<number[]>;
  teach: TeachHooks;
}

/** The training page: what the run produced, step by step. */
export interface TrainHooks {
  /** The loss of each step, from step 1. */
  losses: number[];
  /** The wall time of each step in ms (making the batch and running the graph). */
  stepMs: number[];
  epochs: EpochMetrics[];
  /** WebAssembly threads of the run (1 unless the page is cross-origin isolated). */
  threads: number | null;
  testAccuracy: number | null;
  done: boolean;
  /** With `?trace=N`: the carried state before each of the first N steps, by name (for the Node comparison). */
  trace: Record<string, Float32Array>[];
  /** With `?check=N` on WebGPU: each of the first N steps' outputs on WebGPU and on WebAssembly from the same feeds. */
  checks: { webgpu: Record<string, Float32Array>; wasm: Record<string, Float32Array> }[];
  /** The step of the state the downloads would hold (null until a run has a snapshot). */
  snapshotStep: number | null;
  /** The export check of the offered model (null until the downloads were prepared). */
  downloadCheck: DownloadCheck | null;
  /** Why the downloads were refused, if they were. */
  downloadRefused: string | null;
  /**
   * Probabilities [count x 10] of 28x28 inputs in [0,1] under `model` (.onnx bytes), on the worker's onnxruntime-web.
   */
  classify(model: number[], inputs: number[], count: number): Promise<number[]>;
}

declare global {
  interface Window {
    mnistDemo: DemoHooks;
    mnistTrain: TrainHooks;
  }
}

/** Puts the draw page's hooks on `window`, classifying with `classify`. */
export function installDemoHooks(classify: (input: Float32Array) => Promise<number[]>): void {
  if (!TESTING) return;
  window.mnistDemo = {
    shown: 0,
    lastInput: null,
    lastProbabilities: null,
    classify: (input) => classify(Float32Array.from(input)),
    teach: { examples: 0, tunedAccuracy: null, steps: null, forgetting: null, done: false },
  };
}

/** Records into the draw page's hooks. */
export function demoHook(record: (hooks: DemoHooks) => void): void {
  if (TESTING) record(window.mnistDemo);
}

/** Sets fields of the draw page's teaching hooks. */
export function setTeachHooks(fields: Partial<TeachHooks>): void {
  if (TESTING) Object.assign(window.mnistDemo.teach, fields);
}

/** Classify requests waiting for the worker's answer, by id. */
const classifying = new Map<number, { resolve: (p: number[]) => void; reject: (e: Error) => void }>();
let nextClassify = 0;

/**
 * Puts fresh training-page hooks on `window` (at load, and for each new run), classifying with
 * the run's worker, which `send` reaches (null before the first run).
 */
export function resetTrainHooks(send: ((message: ToWorker) => void) | null): void {
  if (!TESTING) return;
  for (const { reject } of classifying.values()) reject(new Error('a new run started'));
  classifying.clear();
  window.mnistTrain = {
    losses: [],
    stepMs: [],
    epochs: [],
    threads: null,
    testAccuracy: null,
    done: false,
    trace: [],
    checks: [],
    snapshotStep: null,
    downloadCheck: null,
    downloadRefused: null,
    classify(model, inputs, count) {
      if (!send) return Promise.reject(new Error('no worker: start a run first'));
      const id = nextClassify++;
      const answer = new Promise<number[]>((resolve, reject) => classifying.set(id, { resolve, reject }));
      send({ type: 'classify', id, model: Uint8Array.from(model), inputs: Float32Array.from(inputs), count });
      return answer;
    },
  };
}

/** Records into the training page's hooks. */
export function trainHook(record: (hooks: TrainHooks) => void): void {
  if (TESTING) record(window.mnistTrain);
}

/** Sets fields of the training page's hooks. */
export function setTrainHooks(fields: Partial<Omit<TrainHooks, 'classify'>>): void {
  if (TESTING) Object.assign(window.mnistTrain, fields);
}

/** Records one training step. */
export function recordStep(r: StepReport): void {
  trainHook((h) => {
    h.losses.push(r.loss);
    h.stepMs.push(r.ms);
  });
}

/** Hands the worker's answer to the classify hook that asked. */
export function answerClassify(m: Extract<FromWorker, { type: 'classified' | 'classify-failed' }>): void {
  const waiting = classifying.get(m.id);
  classifying.delete(m.id);
  if (m.type === 'classified') waiting?.resolve(Array.from(m.probabilities));
  else waiting?.reject(new Error(m.message));
}

/** A whole number the address gives a test (`?name=N`): 0 when absent, and always 0 outside tests. */
const testCount = (name: string): number =>
  TESTING ? Number(new URLSearchParams(location.search).get(name) ?? 0) || 0 : 0;

/** `?trace=N` on the training page: report the state before each of the first N steps. */
export const traceSteps = (): number => testCount('trace');

/** `?check=N` on the training page: report both sides of the first N WebGPU steps checked against WebAssembly. */
export const checkSteps = (): number => testCount('check');
