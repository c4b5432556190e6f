/**
 * Export verification: the exported model against the evaluation graph of the same
 * checkpoint, on a whole test split. Any probability off by more than 1e-4, or any
 * different prediction, is a failed export.
 */
import * as ort from 'onnxruntime-node';
import { fillImages } from '../data/batches.js';
import type { Split } from '../data/mnist.js';
import type { Network, StateDict } from '../model/network.js';
import { Evaluator } from '../train/evaluate.js';
import { createSession } from '../train/session.js';
import { argmax } from '../util/argmax.js';
import { INPUT, PROBABILITIES } from './inference.js';
import { ExpectedError } from '../util/errors.js';

export const PROBABILITY_TOLERANCE = 1e-4;

export interface Verification {
  count: number;
  /** Correct predictions of the exported model. */
  correct: number;
  maxProbabilityDifference: number;
  /** Images where the two graphs predict different digits. */
  disagreements: number;
}

export class ExportError extends ExpectedError {}

export async function verifyExport(net: Network, state: StateDict, model: Uint8Array, split: Split, batchSize = 1000): Promise<Verification> {
  const exported = await createSession(model);
  const evaluator = await Evaluator.create(net);
  const size = split.rows * split.cols;
  const normalized = new Float32Array(batchSize * size);
  const pixels = new Float32Array(batchSize * size);
  const result: Verification = { count: split.count, correct: 0, maxProbabilityDifference: 0, disagreements: 0 };
  try {
    for (let start = 0; start < split.count; start += batchSize) {
      const n = Math.min(batchSize, split.count - start);
      fillImages(split, start, n, normalized);
      for (let i = 0; i < n * size; i++) pixels[i] = split.images[start * size + i] / 255;
      const logp = await evaluator.logProbs(state, normalized, n);
      const input = new ort.Tensor('float32', pixels.subarray(0, n * size), [n, ...net.inputShape]);
      const probs = (await exported.run({ [INPUT]: input }))[PROBABILITIES].data as Float32Array;
      const classes = probs.length / n;
      for (let i = 0; i < n; i++) {
        const p = probs.subarray(i * classes, (i + 1) * classes);
        const q = logp.subarray(i * classes, (i + 1) * classes).map(Math.exp);
        for (let c = 0; c < classes; c++) result.maxProbabilityDifference = Math.max(result.maxProbabilityDifference, Math.abs(p[c] - q[c]));
        const predicted = argmax(p);
        if (predicted !== argmax(q)) result.disagreements++;
        if (predicted === split.labels[start + i]) result.correct++;
      }
    }
  } finally {
    await exported.release();
    await evaluator.release();
  }
  return result;
}

/** Throws an ExportError unless the exported model matches within tolerance everywhere. */
export function assertFaithful(v: Verification): void {
  if (v.maxProbabilityDifference > PROBABILITY_TOLERANCE || v.disagreements > 0) {
    throw new ExportError(
      `the exported model disagrees with the checkpoint's evaluation graph on the test set: ` +
        `max probability difference ${v.maxProbabilityDifference.toExponential(2)} (limit ${PROBABILITY_TOLERANCE}), ` +
        `${v.disagreements} different predictions; nothing was written`,
    );
  }
}

