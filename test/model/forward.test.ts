import { beforeAll, describe, expect, test } from 'vitest';
import { fillImages } from '../../src/data/batches.js';
import { loadSplit, bundledMnistDir, type Split } from '../../src/data/mnist.node.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { Evaluator } from '../../src/train/core/evaluator.js';
import { nodeRuntime } from '../../src/train/node-runtime.js';
import { MNIST_NORMALIZATION, Normalizer } from '../../src/data/normalize.js';
import { must } from '../helpers/must.js';

describe('evaluation graph on real MNIST test images', () => {
  const net = seedCnn();
  const state = net.initialState(1);
  let test10k: Split;
  let evaluator: Evaluator;
  beforeAll(async () => {
    test10k = loadSplit(bundledMnistDir(), 'test');
    evaluator = await Evaluator.create(net, nodeRuntime({ threads: 2 }), MNIST_NORMALIZATION);
  });

  test('1,000 images give [1000,10] log-probabilities whose rows exp-sum to 1', async () => {
    const images = new Float32Array(1000 * 784);
    fillImages(test10k, 0, 1000, images, Normalizer.for(test10k, MNIST_NORMALIZATION));
    const logp = await evaluator.logProbs(state, images, 1000);
    expect(logp.length).toBe(1000 * 10);
    for (let i = 0; i < 1000; i++) {
      let s = 0;
      for (let c = 0; c < 10; c++) s += Math.exp(logp[i * 10 + c]);
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    }
  });

  test('any batch size gives the same rows (1, 7, 1000)', async () => {
    const images = new Float32Array(1000 * 784);
    fillImages(test10k, 0, 1000, images, Normalizer.for(test10k, MNIST_NORMALIZATION));
    const all = await evaluator.logProbs(state, images, 1000);
    const one = await evaluator.logProbs(state, images.subarray(0, 784), 1);
    const seven = await evaluator.logProbs(state, images.subarray(0, 7 * 784), 7);
    expect(one.length).toBe(10);
    expect(seven.length).toBe(70);
    for (let i = 0; i < 70; i++) expect(seven[i]).toBeCloseTo(all[i], 5);
    for (let i = 0; i < 10; i++) expect(one[i]).toBeCloseTo(all[i], 5);
  });

  test('untrained, the network is near chance on the test set', async () => {
    const r = await evaluator.evaluate(state, test10k, { limit: 2000 });
    expect(r.count).toBe(2000);
    expect(must(r.correct, 'the correct count') / r.count).toBeLessThan(0.35);
    expect(r.loss).toBeGreaterThan(1.5);
  });
});
