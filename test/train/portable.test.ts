/**
 * Portable training-step graphs (GraphOptions.portable: what a WebGPU session runs) hold none of
 * the ops WebGPU lacks, and compute what the standard graph computes: the same seed CNN, state and
 * MNIST batches, one step each on onnxruntime-node, give the same loss and next state within
 * float rounding, and the evaluation graphs (portable too on a portable runtime) the same
 * log-probabilities. MNIST's black background makes max-pool ties common, so the first-maximum
 * mask is exercised where it differs from any other choice.
 */
import { expect, test } from 'vitest';
import { loadDataset } from '../../src/data/mnist.node.js';
import { dropoutMasks, trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { fillImages } from '../../src/data/batches.js';
import { batchOptions, InlineBatches } from '../../src/train/core/batch-source.js';
import { Evaluator } from '../../src/train/core/evaluator.js';
import type { Runtime } from '../../src/train/core/runtime.js';
import { Stepper } from '../../src/train/core/stepper.js';
import { nodeRuntime } from '../../src/train/node-runtime.js';
import { quickConfig } from '../helpers/train.js';
import { MNIST_NORMALIZATION, Normalizer } from '../../src/data/normalize.js';
import { entry } from '../helpers/must.js';

const net = seedCnn().withDropout(0.1);
const config = { ...quickConfig(), trainLimit: 192 }; // three batches of 64

test('a portable training step has no training-mode BatchNormalization, no MaxPool Indices and no MaxUnpool', () => {
  const ops = (portable: boolean) => trainStepGraph(net, 64, config.optimizer, { portable }).graph.nodes;
  const standard = ops(false);
  expect(standard.some((n) => n.op.type === 'MaxUnpool')).toBe(true);
  const portable = ops(true);
  expect(
    portable.filter(
      (n) => n.op.type === 'BatchNormalization' || n.op.type === 'MaxUnpool' || n.op.type === 'ScatterElements',
    ),
  ).toEqual([]);
  expect(portable.filter((n) => n.op.type === 'MaxPool').map((n) => n.outputs.length)).toEqual([1, 1]);
});

test('from the same state and batches, a portable step gives the standard step loss and next state within float rounding', async () => {
  const data = loadDataset();
  const node = nodeRuntime({ threads: 1 });
  const portable: Runtime = { ...node, portable: true };
  const stepperOn = (runtime: Runtime) =>
    Stepper.create(net, config, runtime, { model: net.initialState(config.seed), from: 'the initial state' });
  const [a, b] = [stepperOn(node), stepperOn(portable)];
  const has = (stepper: Stepper, opType: string) => Buffer.from(stepper.trainStepModel).includes(opType);
  expect([has(a, 'MaxUnpool'), has(b, 'MaxUnpool'), has(b, 'BatchNormalization')]).toEqual([true, false, false]);
  const worst = { loss: 0, state: 0 };
  const batches = new InlineBatches(data.train, batchOptions(config, data.train, dropoutMasks(net, config.batchSize)));
  try {
    let step = 0;
    for await (const batch of batches.epoch(0, 0, 0, 3)) {
      const [la, lb] = [await a.step(batch, config.lr, step), await b.step(batch, config.lr, step)];
      worst.loss = Math.max(worst.loss, Math.abs(la.loss - lb.loss) / la.loss);
      expect(Math.abs(la.loss - lb.loss) / la.loss, `loss, step ${++step}`).toBeLessThan(1e-5);
      for (const [name, t] of a.modelState()) {
        const u = entry(b.modelState(), name).data;
        const scale = Math.max(1e-3, ...t.data.map(Math.abs));
        const diff = Math.max(...t.data.map((v, i) => Math.abs(v - u[i]))) / scale;
        worst.state = Math.max(worst.state, diff);
        expect(diff, `${name}, step ${step}`).toBeLessThan(1e-4);
      }
    }
    // The Evaluator follows the runtime too: the portable evaluation graph gives the same log-probabilities.
    const [ea, eb] = [
      await Evaluator.create(net, node, MNIST_NORMALIZATION),
      await Evaluator.create(net, portable, MNIST_NORMALIZATION),
    ];
    const images = new Float32Array(64 * 784);
    fillImages(data.test, 0, 64, images, Normalizer.for(data.test, MNIST_NORMALIZATION));
    const [pa, pb] = [await ea.logProbs(a.modelState(), images, 64), await eb.logProbs(b.modelState(), images, 64)];
    await ea.release();
    await eb.release();
    expect(Math.max(...pa.map((v, i) => Math.abs(v - pb[i])))).toBeLessThan(1e-4);
    console.log(
      `portable vs standard, 3 steps: ` +
        `loss within ${worst.loss.toExponential(1)}, state within ${worst.state.toExponential(1)} (relative)`,
    );
  } finally {
    await a.close();
    await b.close();
  }
}, 60_000);
