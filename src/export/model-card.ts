/** The model card: what the exported file is, how it was made, how well it does. */
import { execFileSync } from 'node:child_process';
import type { TrainConfig } from '../train/trainer.js';
import type { Verification } from './verify.js';

export interface ModelCard {
  name: string;
  task: string;
  input: string;
  outputs: string;
  normalization: string;
  /** Accuracy of the exported graph on the test split, measured at export. */
  test_accuracy: number;
  test_correct: number;
  test_count: number;
  export_check: { max_probability_difference: number; different_predictions: number };
  parameters: number;
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

export const INPUT_CONVENTION =
  "image: float32 [N,1,28,28], pixel values in [0,1], a white digit on black, MNIST-style (the ink's bounding box fitted into 20x20, centre of mass at the centre; see src/preprocess)";

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
