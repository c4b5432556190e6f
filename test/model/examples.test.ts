/**
 * The examples/ model files: each loads as `--model` loads it, and its state_dict (names,
 * shapes, order aside) and parameter count are those of its PyTorch twin
 * (examples/pytorch/twins.py, stored by test/fixtures/pytorch_layers.py), so a checkpoint
 * loads into the twin with load_state_dict(strict=True).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { loadModelFile } from '../../src/cli/model-file.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { evalGraph, trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { OPSET } from '../../src/train/core/opset.js';

const twins = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/pytorch-state-dicts.json', import.meta.url)), 'utf8')) as Record<
  string,
  { state: [string, number[]][]; parameters: number }
>;
const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}.ts`, import.meta.url));

describe.each(Object.keys(twins))('examples/%s.ts', (name) => {
  test("has its PyTorch twin's state_dict and parameter count", async () => {
    const { net } = await loadModelFile(example(name));
    const ours = [...net.stateSpecs.map((s) => [s.name, [...s.shape]]), ...net.batchNormPaths.map((bn) => [`${bn}.num_batches_tracked`, []])];
    expect(ours.sort()).toEqual([...twins[name].state].sort());
    expect(net.parameterCount).toBe(twins[name].parameters);
  });
});

test('examples/seed-cnn.ts, the PyTorch class transcribed, emits the built-in seed CNN byte for byte (dropout aside: its mask names differ)', async () => {
  const { net } = await loadModelFile(example('seed-cnn'));
  const builtin = seedCnn();
  expect(net.stateSpecs.map((s) => s.name)).toEqual(builtin.stateSpecs.map((s) => s.name)); // the same order: the same initial draws
  const bytes = (g: Parameters<typeof serializeModel>[0]) => serializeModel(g, { opset: OPSET });
  expect(bytes(evalGraph(net))).toEqual(bytes(evalGraph(builtin)));
  const sgd = { kind: 'sgd', momentum: 0.9, weightDecay: 0, nesterov: false } as const;
  expect(bytes(trainStepGraph(net.withDropout(0), 16, sgd).graph)).toEqual(bytes(trainStepGraph(builtin.withDropout(0), 16, sgd).graph));
  expect(trainStepGraph(net, 16, sgd).masks.map((m) => m.name)).toEqual(['drop.mask', 'drop.mask_2', 'drop.mask_3', 'drop.mask_4', 'drop.mask_5', 'drop.mask_6']);
});
