/**
 * Fine-tuning the shipped model on a few examples (the draw page's "Teach it your
 * handwriting", run here on onnxruntime-node with the same core): its weights read back from
 * models/mnist.onnx compute what the file computes; batches mix the user's examples with
 * MNIST as the recipe says; four drawn 1s taught as 7 make the first read 7 while MNIST test
 * accuracy stays >= 99.0%.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from '../../src/util/ort.node.js';
import { beforeAll, describe, expect, test } from 'vitest';
import { fillImages } from '../../src/data/batches.js';
import { bundledMnistDir, loadSplit, type Split } from '../../src/data/mnist.node.js';
import { foldedStateFromModel, WeightsError } from '../../src/export/model-weights.js';
import { PROBABILITIES } from '../../src/export/model-io.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { Evaluator } from '../../src/train/core/evaluator.js';
import { FINE_TUNE, fineTune, MixedBatches, ownExamples } from '../../src/train/core/fine-tune.js';
import { trainStepGraph } from '../../src/model/graphs.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { OPSET } from '../../src/train/core/opset.js';
import { nodeRuntime } from '../../src/train/node-runtime.js';
import { ROOT } from '../helpers/cli.js';
import { firstOf } from '../helpers/digits.js';
import { drawnDigit } from '../helpers/drawn.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';

const shippedBytes = () => new Uint8Array(readFileSync(join(ROOT, 'models/mnist.onnx')));
const folded = seedCnn().withBatchNormFolded();

let train: Split;
let testSet: Split;
beforeAll(() => {
  train = loadSplit(bundledMnistDir(), 'train');
  testSet = loadSplit(bundledMnistDir(), 'test');
});

describe('an exported model read back for fine-tuning', () => {
  test('the folded network has no BatchNorm and the shipped weights reproduce the .onnx on 1000 test images', async () => {
    expect(folded.modules.some((m) => m.module.kind === 'BatchNorm2d')).toBe(false);
    expect(folded.parameterCount).toBe(seedCnn().parameterCount - 2 * (12 + 32 + 16 + 32 + 32 + 10)); // gamma and beta of six BatchNorms
    const state = foldedStateFromModel(shippedBytes(), folded);
    const n = 1000;
    const normalized = new Float32Array(n * 784);
    fillImages(testSet, 0, n, normalized);
    const evaluator = await Evaluator.create(folded, nodeRuntime({ threads: 1 }));
    const logp = await evaluator.logProbs(state, normalized, n);
    await evaluator.release();
    const session = await ort.InferenceSession.create(shippedBytes());
    const pixels = Float32Array.from(testSet.images.subarray(0, n * 784), (v) => v / 255);
    const probs = (await session.run({ image: new ort.Tensor('float32', pixels, [n, 1, 28, 28]) }))[PROBABILITIES].data as Float32Array;
    let worst = 0;
    probs.forEach((p, i) => {
      worst = Math.max(worst, Math.abs(p - Math.exp(logp[i])));
    });
    expect(worst).toBeLessThan(1e-5);
  });

  test('a model that is not an export of the network is refused, naming what is wrong', () => {
    expect(() => foldedStateFromModel(Uint8Array.of(1, 2, 3, 4, 5), folded)).toThrow(WeightsError);
    const trainStep = serializeModel(trainStepGraph(seedCnn(), 8, DEFAULT_SGD).graph, { opset: OPSET });
    expect(() => foldedStateFromModel(trainStep, folded)).toThrow("the model has no initializer 'conv1.weight': it is not an export of seed-cnn-folded");
  });
});

describe('fine-tuning batches', () => {
  test('each batch holds ownPerBatch of the user examples, then training images, the same for the same step', async () => {
    const own = ownExamples([new Float32Array(784).fill(1), new Float32Array(784).fill(0.5)], [3, 8]);
    const recipe = { ...FINE_TUNE, steps: 3 };
    const masks = trainStepGraph(folded, recipe.batchSize, DEFAULT_SGD).masks;
    const collect = async () => {
      const out: { labels: number[]; images: Float32Array }[] = [];
      for await (const b of new MixedBatches(own, train, recipe, masks).epoch(0, 0, 0, recipe.steps))
        out.push({ labels: Array.from(b.labels, Number), images: b.images.slice() });
      return out;
    };
    const [a, b] = [await collect(), await collect()];
    expect(a).toHaveLength(3);
    for (const batch of a) {
      expect(batch.labels).toHaveLength(recipe.batchSize);
      expect(batch.labels.slice(0, recipe.ownPerBatch).every((l) => l === 3 || l === 8)).toBe(true);
    }
    expect(a).toEqual(b);
    expect(a[0].images).not.toEqual(a[1].images);
  });
});

describe('teaching the shipped model', () => {
  test('four drawn 1s taught as 7: the first reads 7 afterwards, and MNIST test accuracy stays >= 99.0%', async () => {
    const ones: number[] = [];
    for (let k = 0; k < 4; k++) ones.push(firstOf(1, (ones.at(-1) ?? -1) + 1));
    const inputs = await Promise.all(ones.map(drawnDigit));
    const runtime = nodeRuntime({ threads: 1 });
    const model = foldedStateFromModel(shippedBytes(), folded);
    const evaluator = await Evaluator.create(folded, runtime);
    const readsSeven = async (state: typeof model) => (await evaluator.evaluate(state, ownExamples(inputs, [7, 7, 7, 7]))).correct;
    try {
      expect(await readsSeven(model)).toBe(0);
      const losses: number[] = [];
      const tuned = await fineTune({
        net: folded,
        model,
        own: ownExamples(inputs, [7, 7, 7, 7]),
        base: train,
        runtime,
        onStep: (_, loss) => losses.push(loss),
      });
      expect(losses).toHaveLength(FINE_TUNE.steps);
      const first = (await evaluator.evaluate(tuned, ownExamples([inputs[0]], [7]))).correct;
      const all = await readsSeven(tuned);
      const r = await evaluator.evaluate(tuned, testSet);
      console.log(`fine-tune: ${all}/4 drawn 1s read 7, MNIST test accuracy ${((100 * r.correct) / r.count).toFixed(2)}%`);
      expect(first).toBe(1);
      expect(r.correct / r.count).toBeGreaterThanOrEqual(0.99);
    } finally {
      await evaluator.release();
    }
  }, 120_000);
});
