/** Test-set evaluation with the evaluation graph (running statistics, no dropout). */
import * as ort from 'onnxruntime-node';
import { fillImages } from '../data/batches.js';
import type { Split } from '../data/mnist.js';
import { evalGraph, IMAGE, LOG_PROBS } from '../model/graphs.js';
import type { Network, StateDict } from '../model/network.js';
import { argmax } from '../util/argmax.js';
import { type SessionOptions, sessionForGraph } from './session.js';

export interface EvalResult {
  /** Mean negative log-likelihood. */
  loss: number;
  correct: number;
  count: number;
}

export function stateFeeds(state: StateDict): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of state) feeds[name] = new ort.Tensor('float32', t.data, t.shape as number[]);
  return feeds;
}

export class Evaluator {
  private constructor(
    readonly net: Network,
    private readonly session: ort.InferenceSession,
  ) {}

  static async create(net: Network, options: SessionOptions = {}): Promise<Evaluator> {
    return new Evaluator(net, await sessionForGraph(evalGraph(net), options));
  }

  /** Log-probabilities [count, classes] for the first `count` normalised images of `images`. */
  async logProbs(state: StateDict, images: Float32Array, count: number): Promise<Float32Array> {
    return this.run(stateFeeds(state), images, count);
  }

  private async run(feeds: Record<string, ort.Tensor>, images: Float32Array, count: number): Promise<Float32Array> {
    const size = this.net.inputShape.reduce((a, b) => a * b, 1);
    const input = new ort.Tensor('float32', images.subarray(0, count * size), [count, ...this.net.inputShape]);
    return (await this.session.run({ ...feeds, [IMAGE]: input }))[LOG_PROBS].data as Float32Array;
  }

  async evaluate(state: StateDict, split: Split, { batchSize = 1000, limit = split.count } = {}): Promise<EvalResult> {
    const total = Math.min(limit, split.count);
    const feeds = stateFeeds(state);
    const images = new Float32Array(batchSize * split.rows * split.cols);
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < total; start += batchSize) {
      const n = Math.min(batchSize, total - start);
      fillImages(split, start, n, images);
      const logp = await this.run(feeds, images, n);
      const classes = logp.length / n;
      for (let i = 0; i < n; i++) {
        const row = logp.subarray(i * classes, (i + 1) * classes);
        const label = split.labels[start + i];
        loss -= row[label];
        if (argmax(row) === label) correct++;
      }
    }
    return { loss: loss / total, correct, count: total };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
