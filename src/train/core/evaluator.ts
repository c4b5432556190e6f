/** Test-set evaluation with the evaluation graph (running statistics, no dropout), on any runtime. */
import { fillImages } from '../../data/batches.js';
import type { Split } from '../../data/dataset.js';
import { numel } from '../../graph/shape.js';
import { evalGraph, IMAGE, LOG_PROBS } from '../../model/graphs.js';
import type { Network, StateDict } from '../../model/network.js';
import { argmax } from '../../util/argmax.js';
import { type InferenceSession, modelFor, type Runtime, type Tensor } from './runtime.js';

export interface EvalResult {
  /** Mean negative log-likelihood. */
  loss: number;
  correct: number;
  count: number;
  /** `confusion[label][predicted]`: how many images of each class were read as each class. */
  confusion: number[][];
}

/**
 * Counts one image read as `predicted` into `confusion[label][predicted]`, making the matrix
 * classes x classes on first use; a label the model has no class for is not counted.
 */
export function countReading(confusion: number[][], classes: number, label: number, predicted: number): void {
  if (confusion.length === 0) for (let c = 0; c < classes; c++) confusion.push(new Array<number>(classes).fill(0));
  if (label < classes) confusion[label][predicted]++;
}

export class Evaluator {
  private constructor(
    readonly net: Network,
    private readonly runtime: Runtime,
    private readonly session: InferenceSession,
  ) {}

  static async create(net: Network, runtime: Runtime): Promise<Evaluator> {
    const graph = evalGraph(net, 'N', undefined, { portable: runtime.portable });
    return new Evaluator(net, runtime, await runtime.session(await modelFor(runtime, graph), 'eval'));
  }

  private stateFeeds(state: StateDict): Record<string, Tensor> {
    return Object.fromEntries([...state].map(([name, t]) => [name, this.runtime.float32(t.data, t.shape)]));
  }

  /** Log-probabilities [count, classes] for the first `count` normalised images of `images`. */
  async logProbs(state: StateDict, images: Float32Array, count: number): Promise<Float32Array> {
    return this.run(this.stateFeeds(state), images, count);
  }

  private async run(feeds: Record<string, Tensor>, images: Float32Array, count: number): Promise<Float32Array> {
    const input = this.runtime.float32(images.subarray(0, count * numel(this.net.inputShape)), [count, ...this.net.inputShape]);
    return (await this.session.run({ ...feeds, [IMAGE]: input }))[LOG_PROBS].data as Float32Array;
  }

  async evaluate(state: StateDict, split: Split, { batchSize = 1000, limit = split.count } = {}): Promise<EvalResult> {
    const total = Math.min(limit, split.count);
    const feeds = this.stateFeeds(state);
    const images = new Float32Array(batchSize * split.rows * split.cols);
    let loss = 0;
    let correct = 0;
    const confusion: number[][] = [];
    for (let start = 0; start < total; start += batchSize) {
      const n = Math.min(batchSize, total - start);
      fillImages(split, start, n, images);
      const logp = await this.run(feeds, images, n);
      const classes = logp.length / n;
      for (let i = 0; i < n; i++) {
        const row = logp.subarray(i * classes, (i + 1) * classes);
        const label = split.labels[start + i];
        const predicted = argmax(row);
        loss -= row[label];
        if (predicted === label) correct++;
        countReading(confusion, classes, label, predicted);
      }
    }
    return { loss: loss / total, correct, count: total, confusion };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
