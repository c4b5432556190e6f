/** Evaluation with the evaluation graph (running statistics, no dropout), on any runtime. */
import { fillImages } from '../../data/batches.js';
import { exampleSize, type Split } from '../../data/dataset.js';
import { type Normalization, Normalizer } from '../../data/normalize.js';
import { numel } from '../../graph/shape.js';
import { evalGraph, IMAGE, LOG_PROBS, OUTPUT } from '../../model/graphs.js';
import { isClassification, type LossKind } from '../../model/loss.js';
import type { Network } from '../../model/network.js';
import type { StateDict } from '../../model/state-dict.js';
import { argmax } from '../../util/argmax.js';
import { type InferenceSession, modelFor, type Runtime, type Tensor } from './runtime.js';
import { floatData } from '../../util/tensor-data.js';

export interface EvalResult {
  /** Mean loss: the negative log-likelihood for classifiers, else the run's loss (mse, l1, bce-with-logits). */
  loss: number;
  count: number;
  /** Classifiers only: examples whose highest output is their label. */
  correct?: number;
  /** Classifiers only: `confusion[label][predicted]`, how many examples of each class were read as each class. */
  confusion?: number[][];
}

/** A classifier's evaluation: every field present. */
export type ClassifierResult = Required<EvalResult>;

/** `r` as a classifier's evaluation (an error for a regression loss's, which has no accuracy). */
export function classifierResult(r: EvalResult): ClassifierResult {
  if (r.correct === undefined || r.confusion === undefined)
    throw new Error("this evaluation has no accuracy: the model's loss is not a classifier's");
  return { ...r, correct: r.correct, confusion: r.confusion };
}

/**
 * Counts one image read as `predicted` into `confusion[label][predicted]`, making the matrix
 * classes x classes on first use; a label the model has no class for is not counted.
 */
export function countReading(confusion: number[][], classes: number, label: number, predicted: number): void {
  if (confusion.length === 0) for (let c = 0; c < classes; c++) confusion.push(new Array<number>(classes).fill(0));
  if (label < classes) confusion[label][predicted]++;
}

/** The summed loss of `outputs` against `targets` (both `count` x K), for a regression loss. */
function regressionLossSum(kind: LossKind | undefined, outputs: Float32Array, targets: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < outputs.length; i++) {
    const y = outputs[i];
    const t = targets[i];
    if (kind === 'mse') sum += (y - t) ** 2;
    else if (kind === 'l1') sum += Math.abs(y - t);
    else sum += Math.max(y, 0) + Math.log1p(Math.exp(-Math.abs(y))) - y * t; // softplus(y) - y t, stably
  }
  return sum;
}

export class Evaluator {
  private readonly classifies: boolean;

  private constructor(
    readonly net: Network,
    private readonly runtime: Runtime,
    private readonly session: InferenceSession,
    /** How examples are normalised before they reach the network (the run's recipe). */
    readonly normalize: Normalization,
  ) {
    this.classifies = isClassification(net.options.loss);
  }

  static async create(net: Network, runtime: Runtime, normalize: Normalization): Promise<Evaluator> {
    const graph = evalGraph(net, 'N', undefined, { portable: runtime.portable });
    return new Evaluator(net, runtime, await runtime.session(await modelFor(runtime, graph), 'eval'), normalize);
  }

  private stateFeeds(state: StateDict): Record<string, Tensor> {
    return Object.fromEntries([...state].map(([name, t]) => [name, this.runtime.float32(t.data, t.shape)]));
  }

  /**
   * The graph's output [count, K] for the first `count` normalised
   * examples of `images`: log-probabilities for a classifier.
   */
  async logProbs(state: StateDict, images: Float32Array, count: number): Promise<Float32Array> {
    return this.run(this.stateFeeds(state), images, count);
  }

  private async run(feeds: Record<string, Tensor>, images: Float32Array, count: number): Promise<Float32Array> {
    const input = this.runtime.float32(images.subarray(0, count * numel(this.net.inputShape)), [
      count,
      ...this.net.inputShape,
    ]);
    return floatData((await this.session.run({ ...feeds, [IMAGE]: input }))[this.classifies ? LOG_PROBS : OUTPUT]);
  }

  async evaluate(state: StateDict, split: Split, { batchSize = 1000, limit = split.count } = {}): Promise<EvalResult> {
    const total = Math.min(limit, split.count);
    const feeds = this.stateFeeds(state);
    const normalizer = Normalizer.for(split, this.normalize);
    const images = new Float32Array(batchSize * exampleSize(split));
    let loss = 0;
    let correct = 0;
    const confusion: number[][] = [];
    for (let start = 0; start < total; start += batchSize) {
      const n = Math.min(batchSize, total - start);
      fillImages(split, start, n, images, normalizer);
      const out = await this.run(feeds, images, n);
      const width = out.length / n;
      if (!this.classifies) {
        loss += regressionLossSum(
          this.net.options.loss,
          out,
          split.labels.subarray(start * width, (start + n) * width),
        );
        continue;
      }
      for (let i = 0; i < n; i++) {
        const row = out.subarray(i * width, (i + 1) * width);
        const label = split.labels[start + i];
        const predicted = argmax(row);
        loss -= row[label];
        if (predicted === label) correct++;
        countReading(confusion, width, label, predicted);
      }
    }
    if (!this.classifies) return { loss: loss / (total * (split.labels.length / split.count)), count: total };
    return { loss: loss / total, correct, count: total, confusion };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
