/** Imported PyTorch exports trained for some steps: the seed CNN's export as the built-in, an eval-mode export untied. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { importOnnx } from '../../src/model/onnx-import.js';
import { loadDataset } from '../../src/data/mnist.node.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import type { TrainConfig } from '../../src/train/core/config.js';
import { recipe } from '../../src/train/core/recipe.js';
import { nodeLosses } from '../helpers/train.js';

const onnxFile = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/onnx/${name}.onnx`, import.meta.url)));

/**
 * SGD (momentum 0.9, lr 0.05) on batches of 32, one epoch's worth
 * at most: the two training tests' recipe, each adding its own.
 */
const shortRecipe: TrainConfig = recipe({ epochs: 1, batchSize: 32, schedule: { kind: 'constant' }, augment: null });

test('the seed CNN exported by PyTorch trains as the built-in definition: 20 steps of the default recipe, the same losses within 1e-5', async () => {
  const data = loadDataset();
  const config: TrainConfig = {
    ...shortRecipe,
    schedule: { kind: 'step', stepSize: 7, gamma: 0.1 },
    augment: { rotate: 7, shift: 2 },
    maxSteps: 20,
  };
  const builtin = seedCnn();
  const exported = importOnnx(onnxFile('seed-cnn'), 'seed-cnn').net;
  // From the same state: the built-in's seeded initial weights, under the same names.
  const imported = exported.withInitialState(builtin.initialState(config.seed));
  expect([...imported.dropoutRates.values()].map((p) => Math.fround(p))).toEqual(new Array(6).fill(Math.fround(0.1)));
  const ours = await nodeLosses(builtin, config, data);
  const theirs = await nodeLosses(imported, config, data);
  expect(theirs).toHaveLength(20);
  theirs.forEach((l, i) => {
    expect(Math.abs(l - ours[i]) / ours[i], `step ${i + 1}: ${l} vs ${ours[i]}`).toBeLessThan(1e-5);
  });
});

test('a model exported in eval mode (BatchNorm folded into the convs, equal biases merged by the exporter) imports untied and trains', async () => {
  const { net } = importOnnx(onnxFile('bn-residual-eval'), 'bn-residual-eval');
  const names = net.stateSpecs.map((s) => s.name);
  // conv1's and conv2's folded weights and biases: the exporter found both folded biases equal
  // (zeros, from a fresh BatchNorm) and kept one, read by conv2 through an Identity; the import
  // unties them again, so each conv trains its own bias, as in PyTorch.
  const convs = names.filter((n) => n.startsWith('onnx::Conv_')).sort();
  expect(convs).toHaveLength(4);
  expect(names).not.toContain('bn1.running_mean');
  // bn-residual's 9,698, less its BatchNorms' 32 scales and shifts, plus two folded biases of 8
  expect(net.parameterCount).toBe(9682);
  const initial = net.initialState(0);
  const biases = convs.filter((n) => initial.get(n)?.shape.length === 1);
  expect(biases).toHaveLength(2);
  expect(initial.get(biases[0])?.data).not.toBe(initial.get(biases[1])?.data);
  const losses = await nodeLosses(net, { ...shortRecipe, maxSteps: 30 }, loadDataset());
  expect(losses.every(Number.isFinite)).toBe(true);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(losses.slice(-5))).toBeLessThan(0.8 * mean(losses.slice(0, 5)));
});
