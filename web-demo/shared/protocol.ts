/** The messages between the training page and its worker, both ways, as discriminated unions. */
import type { EpochMetrics } from '../../src/train/core/config.js';
import type { Backend } from './backend.js';
import type { RunChoice } from './recipe.js';

export type ToWorker =
  /**
   * `dataUrl`: the folder holding `<IDX name>.gz`, absolute (a worker resolves relative URLs against its own script).
   */
  /** `traceSteps`: report the state before each of the first N steps (a test hook; 0 for none). */
  /** `onnx`: the model file the user gave the page, when `choice.model` names it (`file:<name>`). */
  /** `backend`: the one chosen (WebGPU falls back to WebAssembly where the worker has no adapter). */
  /**
   * `checkSteps`: report both sides of the first N WebGPU steps checked against WebAssembly (a test hook; 0 for none).
   */
  /** `folder`: the user's images to train on instead of MNIST. */
  | {
      type: 'start';
      choice: RunChoice;
      dataUrl: string;
      traceSteps: number;
      checkSteps: number;
      backend: Backend;
      onnx?: OnnxUpload;
      folder?: ImageFolderUpload;
    }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Prepare the downloads from the newest snapshot (after a run has ended). */
  | { type: 'export' }
  /**
   * Fine-tune `model` (an exported .onnx) on the user's examples: `inputs` holds `labels.length`
   * 28x28 inputs in [0,1]; MNIST comes from `dataUrl` as for `start`.
   */
  | { type: 'tune'; model: Uint8Array; inputs: Float32Array; labels: Uint8Array; dataUrl: string; backend: Backend }
  /** A test hook: classify `count` 28x28 inputs in [0,1] with `model` (.onnx bytes) on onnxruntime-web. */
  | { type: 'classify'; id: number; model: Uint8Array; inputs: Float32Array; count: number };

/** An .onnx chosen or dropped on the training page. */
export interface OnnxUpload {
  name: string;
  bytes: Uint8Array;
}

/** Image files with their class indices. */
export interface LabelledFiles {
  files: File[];
  labels: number[];
}

/** A folder of one subfolder of images per class, dropped on or chosen in the page, listed (src/data/image-tree.ts). */
export interface ImageFolderUpload {
  name: string;
  classNames: string[];
  train: LabelledFiles;
  /** Its own test/ (or val/) split; without one, a seeded 10% of `train` is held out. */
  test?: LabelledFiles;
}

export interface StepReport {
  epoch: number;
  /** Optimizer steps taken so far (this one included). */
  step: number;
  loss: number;
  lr: number;
  /** Wall time of this step: making the batch and running the graph (pauses and evaluations excluded). */
  ms: number;
}

export type FromWorker =
  | { type: 'phase'; text: string }
  /** Something the user should hear that is not an error (files skipped, a share held out). */
  | { type: 'note'; text: string }
  /**
   * The backend that runs the models (`adapter`: the WebGPU adapter's name, if any); sent when a
   * run or tuning starts, and again when WebGPU is dropped, `note` saying why.
   */
  | { type: 'backend'; backend: Backend; adapter: string | null; note?: string }
  /**
   * Both sides of a WebGPU training step checked against WebAssembly, outputs by name (the test hook of `checkSteps`).
   */
  | { type: 'step-check'; step: number; webgpu: Record<string, Float32Array>; wasm: Record<string, Float32Array> }
  | { type: 'started'; totalSteps: number; stepsPerEpoch: number; epochs: number; threads: number }
  | { type: 'step'; report: StepReport }
  /** The carried state (parameters, optimizer slots, BatchNorm statistics) before step `step` (0-based), by name. */
  | { type: 'trace'; step: number; state: Record<string, Float32Array> }
  | { type: 'paused'; step: number }
  | { type: 'resumed' }
  | { type: 'evaluating'; images: number }
  | { type: 'epoch'; metrics: EpochMetrics }
  /** The run ended: every planned step ran, or it was stopped (then evaluated where it stopped). */
  | { type: 'done'; stopped: boolean; step: number; testAccuracy: number | null; seconds: number }
  | { type: 'error'; message: string }
  /** A snapshot exists: downloads can be prepared from it once the run has ended. */
  | { type: 'snapshot'; step: number }
  /** The downloads: the verified inference model and the model's state dict as safetensors. */
  | { type: 'exported'; step: number; onnx: Uint8Array; checkpoint: Uint8Array; verification: DownloadCheck }
  /** The exported model failed the check (or could not be made): nothing is offered. */
  | { type: 'export-refused'; message: string }
  | { type: 'tune-step'; step: number; steps: number; loss: number }
  /**
   * The tuned model, exported and checked as downloads are (`verification.correct` of `count` is
   * its MNIST test accuracy), and its state dict as safetensors (the folded network's: conv
   * weights and biases with BatchNorm folded in). `learned[i]`: whether example i reads as its
   * label after `steps` steps; `forgetting`: the sentence saying what MNIST lost, when it lost
   * more than 0.3 points of accuracy.
   */
  | {
      type: 'tuned';
      onnx: Uint8Array;
      checkpoint: Uint8Array;
      verification: DownloadCheck;
      seconds: number;
      steps: number;
      learned: boolean[];
      shippedAccuracy: number;
      forgetting?: string;
    }
  | { type: 'tune-failed'; message: string }
  | { type: 'classified'; id: number; probabilities: Float32Array }
  | { type: 'classify-failed'; id: number; message: string };

/** What the page's export check found (src/export/verify-core.ts's Verification, in short). */
export interface DownloadCheck {
  count: number;
  correct: number;
  maxProbabilityDifference: number;
  disagreements: number;
}
