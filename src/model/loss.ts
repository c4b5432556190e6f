/**
 * The losses a training step can minimise, as PyTorch defines them (mean reduction), emitted
 * on the network's output y [N, K]:
 *   cross-entropy    logits y, class targets; with label smoothing e: (1 - e) NLL + e mean_k(-log p_k)
 *   nll              log-probabilities y (a network ending in LogSoftmax), class targets
 *   mse              mean((y - t)^2) over every element, float targets [N, K]
 *   l1               mean(|y - t|)
 *   bce-with-logits  mean(softplus(y) - y t): BCEWithLogitsLoss, targets in [0, 1]
 * ORT's removed training API offered the last four (and cross-entropy); NLL is the seed's.
 */
import type { Tensor } from '../graph/builder.js';
import * as op from '../graph/ops/index.js';
import { formatShape } from '../graph/shape.js';
import { ExpectedError } from '../util/errors.js';

export const LOSS_KINDS = ['cross-entropy', 'nll', 'mse', 'l1', 'bce-with-logits'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

/** Losses whose targets are class indices (int64), and whose outputs give accuracy. */
export const isClassification = (kind: LossKind | undefined): boolean =>
  kind === undefined || kind === 'cross-entropy' || kind === 'nll';

/** A model whose output does not fit its loss; the message says what it should end in. */
class OutputError extends ExpectedError {}

/**
 * The outputs per example of y, checked to be [N, K] with K
 * known (`what`: a classifier's [N, classes], or [N, outputs]).
 */
export function outputsOf(y: Tensor, what = 'it must be [N, outputs]'): number {
  if (y.rank !== 2 || typeof y.shape[1] !== 'number') {
    throw new OutputError(
      `the model's output is ${formatShape(y.shape)}; ` +
        `${what}: end it with a Linear, or with Flatten after global average pooling`,
    );
  }
  return y.shape[1];
}

/**
 * A classifier's output, checked: [N, classes]. A network that ends in LogSoftmax over the
 * classes gives log-probabilities; any other gives logits, whose log-softmax is added here, so
 * that the negative log-likelihood of the result is the cross-entropy of the logits. `loss`
 * overrides that reading: 'nll' takes the output as log-probabilities, 'cross-entropy' as logits.
 */
export function classifierOutput(y: Tensor, loss?: LossKind): { logProbs: Tensor; logits?: Tensor } {
  outputsOf(y, "a classifier's must be [N, classes]");
  const last = y.graph.producer(y);
  const endsInLogSoftmax = last?.op.type === 'LogSoftmax' && [1, -1].includes(Number(last.attrs.axis));
  const logits = endsInLogSoftmax ? last.inputs[0] : y;
  const asLogProbs = loss === undefined ? endsInLogSoftmax : loss === 'nll';
  return { logProbs: asLogProbs ? y : op.logSoftmax(y, 1), logits };
}

/** What a loss needs besides the output: its kind (absent: as the output implies) and label smoothing. */
export interface LossSpec {
  kind?: LossKind;
  /** Cross-entropy only: the share of each target spread evenly over the classes (PyTorch's label_smoothing). */
  labelSmoothing?: number;
}

/** The step's target input: class indices, or one float per output (`outputs()` counts them). */
export function targetShape(
  batch: number,
  { kind }: LossSpec,
  outputs: () => number,
): { dtype: 'int64' | 'float32'; shape: number[] } {
  return isClassification(kind) ? { dtype: 'int64', shape: [batch] } : { dtype: 'float32', shape: [batch, outputs()] };
}

/**
 * The loss of output y against `target` (see targetShape), and for classification the log-probabilities it read y as.
 */
export function lossOf(y: Tensor, target: Tensor, spec: LossSpec): { loss: Tensor; logProbs?: Tensor } {
  const { kind, labelSmoothing = 0 } = spec;
  if (labelSmoothing > 0 && kind !== 'cross-entropy' && kind !== undefined)
    throw new OutputError(`label smoothing applies to cross-entropy, not ${kind}`);
  if (isClassification(kind)) {
    const { logProbs } = classifierOutput(y, kind);
    const nll = op.nllLoss(logProbs, target);
    const loss =
      labelSmoothing > 0
        ? op.add(op.mul(nll, 1 - labelSmoothing), op.mul(op.reduceMean(op.neg(logProbs), [0, 1]), labelSmoothing))
        : nll;
    return { loss, logProbs };
  }
  if (target.shape.join() !== y.shape.join())
    throw new OutputError(
      `the targets are ${formatShape(target.shape)}; the model's output is ${formatShape(y.shape)}`,
    );
  const all = [0, 1];
  if (kind === 'mse') {
    const d = op.sub(y, target);
    return { loss: op.reduceMean(op.mul(d, d), all) };
  }
  if (kind === 'l1') return { loss: op.reduceMean(op.abs(op.sub(y, target)), all) };
  return { loss: op.reduceMean(op.sub(op.softplus(y), op.mul(y, target)), all) };
}

/** How many examples' highest log-probability is their target class (a float scalar). */
export const correctCount = (logProbs: Tensor, target: Tensor): Tensor =>
  op.reduceSum(op.cast(op.equal(op.argMax(logProbs, 1), target), 'float32'), [0]);
