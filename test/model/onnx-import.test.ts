/**
 * Models that PyTorch exported (test/fixtures/pytorch_onnx.py: torch.onnx.export in training
 * mode, opsets 13 and 17) imported and trained: the state under the initializers' names
 * (PyTorch's state_dict keys), the ops the exporter writes (Pad + AveragePool, the
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape of `x.view(x.size(0), -1)`, Clip, Cast, ...),
 * and one SGD step (momentum 0.9, lr 0.05, dropout off) against the same step in float64
 * PyTorch from the exported weights: the loss within 1e-5, the state after within 1e-4.
 * Regenerate: /usr/bin/python3 test/fixtures/pytorch_onnx.py
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from '../../src/util/ort.node.js';
import { describe, expect, test } from 'vitest';
import { parseModel, serializeModel } from '../../src/graph/serialize.js';
import { numel } from '../../src/graph/shape.js';
import { classCount, IMAGE, LOSS, LR, next, TARGET, trainStepGraph } from '../../src/model/graphs.js';
import { importOnnx } from '../../src/model/onnx-import.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';
import { OPSET } from '../../src/train/core/opset.js';
import { type FixtureTensor, readFixture, relativeError } from '../helpers/fixture.js';
import { entry } from '../helpers/must.js';
import { graphOf } from '../helpers/models.js';

const onnxFile = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/onnx/${name}.onnx`, import.meta.url)));
const fx = readFixture('pytorch-onnx-steps.safetensors');
const get = (key: string): FixtureTensor => {
  const t = fx.get(key);
  if (!t) throw new Error(`fixture has no '${key}'`);
  return t;
};
const f32 = (t: FixtureTensor) => new ort.Tensor('float32', Float32Array.from(t.data as Float64Array), t.shape);

describe.each([
  'lenet5',
  'bn-residual',
  'mixed',
  'seed-cnn',
  'modern-13',
  'modern-17',
  'fire-gelu-13',
  'fire-gelu-17',
  'tv-mobilenet-v3-13',
  'tv-mobilenet-v3-17',
  'tv-efficientnet',
  'tv-shufflenet',
  'tv-densenet',
  'vit-13',
  'vit-17',
  'lstm-rows',
  'gru-rows',
  'bilstm-rows',
  'bigru-rows',
])('%s.onnx, exported by PyTorch in training mode', (name) => {
  test('imports with its state_dict names and takes the SGD step PyTorch takes', async () => {
    const { net } = importOnnx(onnxFile(name), name);
    const after = [...fx.keys()]
      .filter((k) => k.startsWith(`${name}.after.`))
      .map((k) => k.slice(`${name}.after.`.length));
    expect(net.stateSpecs.map((s) => s.name).sort()).toEqual(after.sort());
    expect(classCount(net)).toBe(10);

    const step = trainStepGraph(net.withDropout(0), 16, DEFAULT_SGD);
    const session = await ort.InferenceSession.create(serializeModel(step.graph, { opset: OPSET }), {
      intraOpNumThreads: 1,
    });
    const initial = net.initialState(0);
    const feeds: Record<string, ort.Tensor> = {
      [IMAGE]: f32(get('input')),
      [TARGET]: new ort.Tensor('int64', get('target').data as BigInt64Array, [16]),
      [LR]: new ort.Tensor('float32', Float32Array.of(0.05), []),
    };
    for (const e of step.carried) {
      feeds[e.name] = new ort.Tensor(
        'float32',
        e.role === 'optimizer' ? new Float32Array(numel(e.shape)) : entry(initial, e.name).data,
        e.shape,
      );
    }
    const out = await session.run(feeds);
    const loss = (out[LOSS].data as Float32Array)[0];
    const ref = Number(get(`${name}.loss`).data[0]);
    expect(Math.abs(loss - ref) / ref).toBeLessThan(1e-5);
    // Within 1e-4 of the tensor's largest value, or 1e-7 (float32's step at 1) where PyTorch's is 0 but for rounding:
    // a bias a BatchNorm cancels through a 1x1 conv (MobileNetV3, ShuffleNetV2) has an exact gradient of 0, and the
    // running mean of a bias-free conv of a BatchNorm's output an exact batch mean of 0; float32 leaves ~1e-8 of each.
    for (const s of net.stateSpecs) {
      expect(
        relativeError(
          out[next(s.name)].data as Float32Array,
          get(`${name}.after.${s.name}`).data as Float64Array,
          1e-3,
        ),
        s.name,
      ).toBeLessThan(1e-4);
    }
    await session.release();
  });
});

test('a weight the exporter named and several nodes read directly (equal values merged) is refused in one line', () => {
  const model = parseModel(onnxFile('bn-residual-eval'));
  const graph = graphOf(model);
  const nodes = graph.node;
  const alias = nodes.find((n) => n.opType === 'Identity' && n.input?.[0]?.startsWith('onnx::Conv_'));
  if (!alias?.input || !alias.output) throw new Error('the fixture has no Identity of a conv bias');
  for (const n of nodes) n.input = (n.input ?? []).map((i) => (i === alias.output?.[0] ? (alias.input?.[0] ?? i) : i));
  graph.node = nodes.filter((n) => n !== alias);
  expect(() => importOnnx(model, 'merged')).toThrow(
    new RegExp(
      `^initializer '${alias.input[0]}' is read by 2 nodes \\(Conv '.*', Conv '.*'\\): ` +
        `the exporter merged equal values, .* export in training mode`,
    ),
  );
});

test('every node the importer cannot train is named in the one error, with what it can', () => {
  const model = parseModel(onnxFile('mixed'));
  const graph = graphOf(model);
  const nodes = graph.node;
  for (const n of nodes.filter((x) => x.opType === 'Tanh' || x.opType === 'Sigmoid'))
    n.opType = n.opType === 'Tanh' ? 'Selu' : 'Mish';
  expect(() => importOnnx(model, 'mixed')).toThrow(
    /^node '.*': (Selu|Mish) cannot be trained here; nor can (Selu|Mish) \(node '.*'\) \(supported: Add, AveragePool, /,
  );
});
