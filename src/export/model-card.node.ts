/** The model card: what the exported file is, how it was made, how well it does. */
import { execFileSync } from 'node:child_process';
import type { TrainConfig } from '../train/core/config.js';
import { sha256Hex } from '../util/sha256.node.js';
import type { Verification } from './verify.node.js';

export interface ModelCard {
  name: string;
  task: string;
  input: string;
  /** One image, [C, H, W]: what the draw page and predict feed. */
  input_shape: readonly number[];
  /** Outputs per image: [N, classes]. */
  classes: number;
  outputs: string;
  normalization: string;
  /** Accuracy of the exported graph on the test split, measured at export. */
  test_accuracy: number;
  test_correct: number;
  test_count: number;
  export_check: { max_probability_difference: number; different_predictions: number };
  parameters: number;
  /** One line per layer: `path: description -> [output shape] (parameters)`. */
  architecture: string[];
  /** The model file the run trained, and its SHA-256; absent for the built-in seed CNN. */
  model_file?: { file: string; sha256: string };
  epochs: number;
  steps: number;
  training_recipe: TrainConfig;
  checkpoint: string;
  source_commit: string;
  date: string;
  opset: number;
}

/** `git rev-parse HEAD`, marked -dirty when the working tree has changes; 'unknown' outside git. */
export function sourceCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** The input a model takes, in words. */
export const inputConvention = (shape: readonly number[]): string =>
  `image: float32 [N,${shape.join(',')}], pixel values in [0,1], a white digit on black, MNIST-style (the ink's bounding box fitted into 20x20, centre of mass at the centre; see src/preprocess)`;

/** metadata_props hold strings: objects are stored as JSON. */
export function cardMetadata(card: ModelCard): Record<string, string> {
  return Object.fromEntries(Object.entries(card).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

export function verificationFields(v: Verification): Pick<ModelCard, 'test_accuracy' | 'test_correct' | 'test_count' | 'export_check'> {
  return {
    test_accuracy: v.correct / v.count,
    test_correct: v.correct,
    test_count: v.count,
    export_check: { max_probability_difference: v.maxProbabilityDifference, different_predictions: v.disagreements },
  };
}

/**
 * The .json beside the model: the card plus the SHA-256 of the .onnx bytes it describes, so
 * a reader can tell a pair torn by a crash (the .json is written last). Cards written before
 * the field existed, like models/mnist.json, lack it; nothing requires it.
 */
export interface ModelCardFile extends ModelCard {
  onnx_sha256?: string;
}

/** `models/mnist.onnx` -> `models/mnist.json`. */
export const cardFileFor = (onnxFile: string): string => onnxFile.replace(/\.onnx$/, '.json');

export function cardFileText(card: ModelCard, onnx: Uint8Array): string {
  const file: ModelCardFile = { ...card, onnx_sha256: sha256Hex(onnx) };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Why a parsed .json card does not describe these .onnx bytes, or undefined (also for cards without a hash). */
export function cardMismatch(card: unknown, onnx: Uint8Array): string | undefined {
  const recorded = typeof card === 'object' && card !== null ? (card as { onnx_sha256?: unknown }).onnx_sha256 : undefined;
  if (recorded === undefined) return undefined;
  const actual = sha256Hex(onnx);
  return recorded === actual
    ? undefined
    : `the card records onnx_sha256 ${String(recorded)}, but the model's SHA-256 is ${actual}: the pair does not belong together`;
}
