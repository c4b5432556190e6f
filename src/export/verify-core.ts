/**
 * Export verification: the exported model against the evaluation graph of the same
 * checkpoint, on a whole test split. Any probability off by more than 1e-4, any different
 * prediction, or any NaN or infinite output of either graph is a failed export. Every
 * comparison is written so that NaN fails it (`!(diff <= tol)`, never `diff > tol`).
 * Runtime-neutral: both graphs run on the given training-core Runtime (onnxruntime-node in
 * verify.node.ts's verifyExport, onnxruntime-web on the training page), so both apply one rule.
 */
import { fillImages } from '../data/batches.js';
import { exampleSize, type Split } from '../data/dataset.js';
import { type Normalization, Normalizer } from '../data/normalize.js';
import type { Network } from '../model/network.js';
import type { StateDict } from '../model/state-dict.js';
import { countReading, Evaluator } from '../train/core/evaluator.js';
import type { Runtime } from '../train/core/runtime.js';
import { argmax } from '../util/argmax.js';
import type { Graph } from '../graph/builder.js';
import { ExportError } from './errors.js';
import { foldBatchNorm } from './fold.js';
import { inferenceGraph, inferenceModelBytes } from './inference.js';
import { INPUT, LOGITS, PROBABILITIES } from './model-io.js';
import { floatData } from '../util/tensor-data.js';

export { ExportError };

export const PROBABILITY_TOLERANCE = 1e-4;

export interface Verification {
  count: number;
  /** Correct predictions of the exported model. */
  correct: number;
  /** The exported model's `confusion[label][predicted]` counts (as EvalResult's). */
  confusion: number[][];
  /** NaN when any compared probability was NaN. */
  maxProbabilityDifference: number;
  /** Images where the two graphs predict different digits. */
  disagreements: number;
  /** Images where the exported model's logits or probabilities hold NaN or infinity. */
  nonFiniteExported: number;
  /** Images where the evaluation graph's log-probabilities hold NaN or infinity. */
  nonFiniteEvaluation: number;
}

const allFinite = (values: Float32Array): boolean => values.every(Number.isFinite);

/**
 * The exported model (`model`, .onnx bytes) against the evaluation graph of `state`, both on
 * `runtime`: the evaluation graph takes the examples normalised by `normalize`, the export
 * takes them raw (pixels scaled to [0,1]) and normalises inside.
 */
export async function verifyModel(
  runtime: Runtime,
  net: Network,
  state: StateDict,
  model: Uint8Array,
  split: Split,
  normalize: Normalization,
  batchSize = 1000,
): Promise<Verification> {
  const exported = await runtime.session(model, 'eval');
  const evaluator = await Evaluator.create(net, runtime, normalize);
  const normalizer = Normalizer.for(split, normalize);
  const scale = split.images instanceof Uint8Array ? 255 : 1;
  const size = exampleSize(split);
  const normalized = new Float32Array(batchSize * size);
  const pixels = new Float32Array(batchSize * size);
  const result: Verification = {
    count: split.count,
    correct: 0,
    confusion: [],
    maxProbabilityDifference: 0,
    disagreements: 0,
    nonFiniteExported: 0,
    nonFiniteEvaluation: 0,
  };
  try {
    for (let start = 0; start < split.count; start += batchSize) {
      const n = Math.min(batchSize, split.count - start);
      fillImages(split, start, n, normalized, normalizer);
      for (let i = 0; i < n * size; i++) pixels[i] = split.images[start * size + i] / scale;
      const logp = await evaluator.logProbs(state, normalized, n);
      const input = runtime.float32(pixels.subarray(0, n * size), [n, ...net.inputShape]);
      const outputs = await exported.run({ [INPUT]: input });
      const probs = floatData(outputs[PROBABILITIES]);
      const logits = floatData(outputs[LOGITS]);
      const classes = probs.length / n;
      for (let i = 0; i < n; i++) {
        const row = (a: Float32Array) => a.subarray(i * classes, (i + 1) * classes);
        const p = row(probs);
        const lq = row(logp);
        if (!allFinite(p) || !allFinite(row(logits))) result.nonFiniteExported++;
        if (!allFinite(lq)) result.nonFiniteEvaluation++;
        const q = lq.map(Math.exp);
        // Math.max keeps NaN, so one NaN difference makes the maximum NaN and fails the check.
        for (let c = 0; c < classes; c++)
          result.maxProbabilityDifference = Math.max(result.maxProbabilityDifference, Math.abs(p[c] - q[c]));
        const predicted = argmax(p);
        if (predicted !== argmax(q)) result.disagreements++;
        const label = split.labels[start + i];
        if (predicted === label) result.correct++;
        countReading(result.confusion, classes, label, predicted);
      }
    }
  } finally {
    await exported.release();
    await evaluator.release();
  }
  return result;
}

/**
 * Throws an ExportError unless both graphs gave finite outputs that match within tolerance
 * everywhere; `consequence` ends its message (what the caller did not do).
 */
export function assertFaithful(v: Verification, consequence = 'nothing was written'): void {
  const refuse = (why: string) => new ExportError(`${why}; ${consequence}`);
  if (!(v.count > 0)) throw refuse('no test images to verify the exported model on');
  if (v.nonFiniteEvaluation > 0) {
    throw refuse(
      `the checkpoint's evaluation graph ` +
        `gives NaN or infinite outputs on ${v.nonFiniteEvaluation} of ${v.count} test images: the checkpoint is broken`,
    );
  }
  if (v.nonFiniteExported > 0) {
    throw refuse(
      `the exported model gives NaN or infinite outputs on ${v.nonFiniteExported} of ${v.count} test images`,
    );
  }
  if (!(v.maxProbabilityDifference <= PROBABILITY_TOLERANCE) || !(v.disagreements === 0)) {
    throw refuse(
      `the exported model disagrees with the checkpoint's evaluation graph on the test set: ` +
        `max probability difference ${v.maxProbabilityDifference.toExponential(2)} (limit ${PROBABILITY_TOLERANCE}), ` +
        `${v.disagreements} different predictions`,
    );
  }
}

/**
 * The export pipeline, written once for `npm run export` and the pages: BatchNorm folded into
 * the convs, the inference graph (no dropout, normalisation inside), and that graph checked
 * against the evaluation graph of `state` on `split`; a failed check throws an ExportError
 * ending in `consequence`. The caller serialises the graph with its own metadata (a model
 * card), which changes no computation.
 */
export async function exportVerified(
  runtime: Runtime,
  net: Network,
  state: StateDict,
  split: Split,
  normalize: Normalization,
  consequence?: string,
): Promise<{ graph: Graph; verification: Verification }> {
  const graph = inferenceGraph(net, foldBatchNorm(net, state), normalize);
  const verification = await verifyModel(runtime, net, state, inferenceModelBytes(graph), split, normalize);
  assertFaithful(verification, consequence);
  return { graph, verification };
}
