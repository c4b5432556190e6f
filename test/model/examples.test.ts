/**
 * The examples/ model files: each loads as `--model` loads it, and its state_dict (names,
 * shapes, order aside) and parameter count are those of its PyTorch twin
 * (examples/pytorch/twins.py, stored by test/fixtures/pytorch_layers.py), so a checkpoint
 * loads into the twin with load_state_dict(strict=True); and each trains as the twin does.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from '../../src/util/ort.node.js';
import { describe, expect, test } from 'vitest';
import { loadModelFile } from '../../src/cli/training-model.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { numel } from '../../src/graph/shape.js';
import { dropoutMasks, evalGraph, IMAGE, LOSS, LR, next, TARGET, trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { OPSET } from '../../src/train/core/opset.js';
import { type FixtureTensor, readFixture, relativeError } from '../helpers/fixture.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';

const fail = (message: string): never => {
  throw new Error(message);
};

const twins = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/pytorch-state-dicts.json', import.meta.url)), 'utf8'),
) as Record<string, { state: [string, number[]][]; parameters: number }>;
const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}.ts`, import.meta.url));

describe.each(Object.keys(twins))('examples/%s.ts', (name) => {
  test("has its PyTorch twin's state_dict and parameter count", async () => {
    const { net } = await loadModelFile(example(name));
    const ours = [
      ...net.stateSpecs.map((s) => [s.name, [...s.shape]]),
      ...net.batchNormPaths.map((bn) => [`${bn}.num_batches_tracked`, []]),
    ];
    expect(ours.sort()).toEqual([...twins[name].state].sort());
    expect(net.parameterCount).toBe(twins[name].parameters);
  });
});

test('examples/seed-cnn.ts, the PyTorch class transcribed, emits the built-in seed CNN byte for byte (dropout aside: its mask names differ)', async () => {
  const { net } = await loadModelFile(example('seed-cnn'));
  const builtin = seedCnn();
  // the same order: the same initial draws
  expect(net.stateSpecs.map((s) => s.name)).toEqual(builtin.stateSpecs.map((s) => s.name));
  const bytes = (g: Parameters<typeof serializeModel>[0]) => serializeModel(g, { opset: OPSET });
  expect(bytes(evalGraph(net))).toEqual(bytes(evalGraph(builtin)));
  const sgd = DEFAULT_SGD;
  expect(bytes(trainStepGraph(net.withDropout(0), 16, sgd).graph)).toEqual(
    bytes(trainStepGraph(builtin.withDropout(0), 16, sgd).graph),
  );
  expect(trainStepGraph(net, 16, sgd).masks.map((m) => m.name)).toEqual([
    'drop.mask',
    'drop.mask_2',
    'drop.mask_3',
    'drop.mask_4',
    'drop.mask_5',
    'drop.mask_6',
  ]);
  // The batch worker learns the masks from the forward pass alone: the same inputs, in the same order.
  for (const model of [net, builtin, (await loadModelFile(example('resnet-gn'))).net]) {
    expect(dropoutMasks(model, 16)).toEqual(trainStepGraph(model, 16, sgd).masks);
  }
});

/**
 * Each example trains as its PyTorch twin does: from the twin's initial state, 3 SGD steps
 * (momentum 0.9, lr 0.05, dropout off) on 16 real test images in float64 PyTorch
 * (test/fixtures/pytorch_layers.py), against our training-step graph in float32: the loss the
 * network's last layer implies (NLL after LogSoftmax, else cross-entropy), the parameters and
 * the BatchNorm statistics after.
 */
describe.each(['tiny-gap', 'resnet-gn', 'lenet5'])('examples/%s.ts trains as PyTorch does', (name) => {
  test('3 SGD steps: the losses within 1e-5, the state after within 1e-4 (relative)', async () => {
    const fx = readFixture('pytorch-examples.safetensors');
    const get = (key: string) => fx.get(key) ?? fail(`fixture has no '${key}'`);
    const f32 = (t: FixtureTensor) => new ort.Tensor('float32', Float32Array.from(t.data as Float64Array), t.shape);
    const { net } = await loadModelFile(example(name));
    const step = trainStepGraph(net.withDropout(0), 16, DEFAULT_SGD);
    const session = await ort.InferenceSession.create(serializeModel(step.graph, { opset: OPSET }), {
      intraOpNumThreads: 1,
    });
    let state: Record<string, ort.Tensor> = {};
    for (const e of step.carried) {
      state[e.name] =
        e.role === 'optimizer'
          ? new ort.Tensor('float32', new Float32Array(numel(e.shape)), e.shape)
          : f32(get(`${name}.initial.${e.name}`));
    }
    for (let s = 1; s <= 3; s++) {
      const out = await session.run({
        ...state,
        [IMAGE]: f32(get('input')),
        [TARGET]: new ort.Tensor('int64', get('target').data as BigInt64Array, [16]),
        [LR]: new ort.Tensor('float32', Float32Array.of(0.05), []),
      });
      const ref = Number(get(`${name}.loss${s}`).data[0]);
      expect(Math.abs((out[LOSS].data as Float32Array)[0] - ref) / ref, `loss of step ${s}`).toBeLessThan(1e-5);
      state = Object.fromEntries(step.carried.map(({ name: n }) => [n, out[next(n)]]));
    }
    for (const s of net.stateSpecs)
      expect(
        relativeError(state[s.name].data as Float32Array, get(`${name}.final.${s.name}`).data as Float64Array),
        s.name,
      ).toBeLessThan(1e-4);
    await session.release();
  });
});
