/**
 * Each loss against PyTorch's (test/fixtures/pytorch_library.py, float64): its value and its
 * gradient by the network's output, on inputs with exact ties, an exact zero row, a logit of 40
 * and targets of exactly 0 and 1. Ours run in float32 through ORT, as training runs them.
 */
import { describe, expect, test } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph } from '../../src/graph/builder.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { type LossKind, lossOf, targetShape } from '../../src/model/loss.js';
import { OPSET } from '../../src/train/core/opset.js';
import * as ort from '../../src/util/ort.node.js';
import { readFixture, relativeError } from '../helpers/fixture.js';
import { must } from '../helpers/must.js';

const fx = readFixture('pytorch-library.safetensors');
const get = (name: string) => {
  const t = fx.get(name);
  if (!t) throw new Error(`fixture has no '${name}'`);
  return t;
};

const CASES: [string, LossKind, number?][] = [
  ['cross_entropy', 'cross-entropy'],
  ['cross_entropy_smoothed', 'cross-entropy', 0.1],
  ['nll', 'nll'],
  ['mse', 'mse'],
  ['l1', 'l1'],
  ['bce_with_logits', 'bce-with-logits'],
];

describe.each(CASES)('%s against PyTorch', (name, kind, labelSmoothing) => {
  test('value and gradient by the output', async () => {
    const input = get(`loss.${name}.input`);
    const target = get(`loss.${name}.target`);
    const [n, k] = input.shape;
    const g = new Graph(`loss-${name}`);
    const y = g.input('y', 'float32', [n, k]);
    const spec = { kind, labelSmoothing };
    const t = targetShape(n, spec, () => k);
    const { loss } = lossOf(y, g.input('t', t.dtype, t.shape), spec);
    g.output(loss, 'loss');
    g.output(must(gradients(loss, [y])[0], 'the gradient of y'), 'dy');
    const session = await ort.InferenceSession.create(serializeModel(g, { opset: OPSET }));
    const out = await session.run({
      y: new ort.Tensor('float32', Float32Array.from(input.data as Float64Array), [n, k]),
      t:
        t.dtype === 'int64'
          ? new ort.Tensor('int64', target.data as BigInt64Array, t.shape)
          : new ort.Tensor('float32', Float32Array.from(target.data as Float64Array), t.shape),
    });
    const value = Number(get(`loss.${name}.value`).data[0]);
    expect(Math.abs((out.loss.data as Float32Array)[0] - value) / Math.abs(value), 'loss').toBeLessThan(1e-6);
    expect(
      relativeError(out.dy.data as Float32Array, get(`loss.${name}.grad`).data as Float64Array),
      'gradient',
    ).toBeLessThan(1e-5);
  });
});

test('label smoothing is refused for a loss other than cross-entropy', () => {
  const g = new Graph('smoothing');
  const y = g.input('y', 'float32', [2, 3]);
  expect(() => lossOf(y, g.input('t', 'float32', [2, 3]), { kind: 'mse', labelSmoothing: 0.1 })).toThrow(
    'label smoothing applies to cross-entropy, not mse',
  );
});

test('a regression loss refuses targets that are not the output’s shape', () => {
  const g = new Graph('shapes');
  const y = g.input('y', 'float32', [2, 3]);
  expect(() => lossOf(y, g.input('t', 'float32', [2, 4]), { kind: 'l1' })).toThrow(
    "the targets are [2,4]; the model's output is [2,3]",
  );
});
