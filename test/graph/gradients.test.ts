/**
 * Per-op gradient checks in float64 (where ORT's CPU kernels have float64): each rule's
 * analytic gradient against central finite differences of the same op, both run by ORT.
 * Conv, GlobalAveragePool and MaxUnpool have no float64 kernel in ORT: see float32-gradients.test.ts.
 */
import { describe, expect, test } from 'vitest';
import * as op from '../../src/graph/ops/index.js';
import { gradCheck, type InputSpec } from '../helpers/gradcheck.js';

const TOL = 1e-7;

async function expectGradientsMatch(specs: InputSpec[], build: Parameters<typeof gradCheck>[1], tol = TOL) {
  const results = await gradCheck(specs, build);
  for (const r of results) {
    expect(r.analytic.length, r.name).toBe(r.numeric.length);
    expect(r.maxRelError, `${r.name}: analytic vs numeric`).toBeLessThan(tol);
    expect(Math.max(...r.numeric.map(Math.abs)), `${r.name}: gradient is not trivially zero`).toBeGreaterThan(1e-3);
  }
}

/** Values well away from 0 so that kinks (Relu) are not crossed by the finite difference. */
function awayFromZero(n: number, seed = 3): number[] {
  return Array.from({ length: n }, (_, i) => {
    const v = Math.sin(i * 12.9898 + seed) * 0.9;
    return Math.sign(v) * (0.1 + Math.abs(v));
  });
}

describe('elementwise arithmetic (with broadcasting)', () => {
  const a = { name: 'a', shape: [2, 3, 4] };
  const b = { name: 'b', shape: [3, 1] };
  test('Add', () => expectGradientsMatch([a, b], (x, y) => op.add(x, y)));
  test('Sub', () => expectGradientsMatch([a, b], (x, y) => op.sub(x, y)));
  test('Mul', () => expectGradientsMatch([a, b], (x, y) => op.mul(x, y)));
  test('Div', () => expectGradientsMatch([a, { ...b, data: [1.5, -2, 0.7] }], (x, y) => op.div(x, y)));
  test('Neg', () => expectGradientsMatch([a], (x) => op.neg(x)));
  test('Exp', () => expectGradientsMatch([a], (x) => op.exp(x)));
  test('Sqrt', () => expectGradientsMatch([{ ...a, data: awayFromZero(24).map(Math.abs) }], (x) => op.sqrt(x)));
  test('Log', () => expectGradientsMatch([{ ...a, data: awayFromZero(24).map(Math.abs) }], (x) => op.log(x)));
  test('Pow, base and exponent (positive base)', () =>
    expectGradientsMatch(
      [
        { ...a, data: awayFromZero(24).map(Math.abs) },
        { ...b, data: [2, 0.5, -1.3] },
      ],
      (x, y) => op.pow(x, y),
    ));
  test('Pow by a constant 2 (LayerNorm as exported at opset 13), any sign', () =>
    expectGradientsMatch([a], (x) => op.pow(x, 2)));
  test('Abs (away from its kink at 0)', () =>
    expectGradientsMatch([{ ...a, data: awayFromZero(24) }], (x) => op.abs(x)));
  test('the same tensor used twice accumulates (x * x)', () => expectGradientsMatch([a], (x) => op.mul(x, x)));
});

describe('reductions and data movement', () => {
  const x = { name: 'x', shape: [2, 3, 4, 5] };
  test('ReduceSum', () => expectGradientsMatch([x], (t) => op.reduceSum(t, [0, 2])));
  test('ReduceSum keepdims', () => expectGradientsMatch([x], (t) => op.reduceSum(t, [1, 3], true)));
  test('ReduceMean', () => expectGradientsMatch([x], (t) => op.reduceMean(t, [1, 2, 3])));
  test('Expand', () => expectGradientsMatch([{ name: 'x', shape: [3, 1] }], (t) => op.expand(t, [2, 3, 4])));
  test('Reshape', () => expectGradientsMatch([x], (t) => op.mul(op.reshape(t, [6, -1]), op.reshape(t, [6, -1]))));
  test('Flatten', () => expectGradientsMatch([x], (t) => op.exp(op.flatten(t, 2))));
  test('Unsqueeze', () => expectGradientsMatch([{ name: 'x', shape: [3, 4] }], (t) => op.exp(op.unsqueeze(t, [0, 2]))));
  test('Transpose', () => expectGradientsMatch([x], (t) => op.exp(op.transpose(t, [2, 0, 3, 1]))));
  test('Slice', () => expectGradientsMatch([x], (t) => op.exp(op.slice(t, [1, -3], [3, 100], [2, 3]))));
  test('Pad', () => expectGradientsMatch([x], (t) => op.exp(op.pad(t, [0, 0, 1, 2, 0, 1, 0, 1]))));
  test('Concat', () =>
    expectGradientsMatch([x, { name: 'y', shape: [2, 1, 4, 5] }], (t, u) => op.exp(op.concat([t, u, t], 1))));
  test('Where', () =>
    expectGradientsMatch(
      [
        { name: 'a', shape: [3, 4] },
        { name: 'b', shape: [4] },
      ],
      (a, b) => op.where(op.greater(a, a.graph.scalar(0, 'float64')), a, b),
    ));
  test('Identity', () => expectGradientsMatch([x], (t) => op.exp(op.identity(t))));
});

describe('MatMul', () => {
  test('matrices', () =>
    expectGradientsMatch(
      [
        { name: 'a', shape: [3, 4] },
        { name: 'b', shape: [4, 5] },
      ],
      (a, b) => op.matmul(a, b),
    ));
  test('batched, with B broadcast over the batch (as in the conv weight gradient)', () =>
    expectGradientsMatch(
      [
        { name: 'a', shape: [2, 3, 4] },
        { name: 'b', shape: [4, 5] },
      ],
      (a, b) => op.matmul(a, b),
    ));
  test('batched times transposed (the fused MatMul form)', () =>
    expectGradientsMatch(
      [
        { name: 'a', shape: [2, 3, 4] },
        { name: 'b', shape: [2, 5, 4] },
      ],
      (a, b) => op.matmul(a, op.transpose(b, [0, 2, 1])),
    ));
});

describe('Gemm (Linear is Gemm with transB)', () => {
  const a = { name: 'a', shape: [3, 4] };
  const aT = { name: 'a', shape: [4, 3] };
  const b = { name: 'b', shape: [4, 5] };
  const bT = { name: 'b', shape: [5, 4] };
  const c = { name: 'c', shape: [5] };
  test('plain, with a bias row', () => expectGradientsMatch([a, b, c], (x, y, z) => op.gemm(x, y, {}, z)));
  test('transB (Linear: x W^T + b)', () =>
    expectGradientsMatch([a, bT, c], (x, y, z) => op.gemm(x, y, { transB: true }, z)));
  test('transA', () => expectGradientsMatch([aT, b], (x, y) => op.gemm(x, y, { transA: true })));
  test('transA and transB, alpha and beta, C [3, 1]', () =>
    expectGradientsMatch([aT, bT, { name: 'c', shape: [3, 1] }], (x, y, z) =>
      op.gemm(x, y, { transA: true, transB: true, alpha: 0.7, beta: -1.5 }, z),
    ));
});

describe('network ops', () => {
  test('Relu', () =>
    expectGradientsMatch([{ name: 'x', shape: [2, 3, 4], data: awayFromZero(24) }], (x) => op.relu(x)));
  test('LeakyRelu (PyTorch default slope 0.01)', () =>
    expectGradientsMatch([{ name: 'x', shape: [2, 3, 4], data: awayFromZero(24) }], (x) => op.leakyRelu(x)));
  test('LeakyRelu, slope 0.2', () =>
    expectGradientsMatch([{ name: 'x', shape: [2, 3, 4], data: awayFromZero(24) }], (x) => op.leakyRelu(x, 0.2)));
  test('Tanh', () => expectGradientsMatch([{ name: 'x', shape: [2, 3, 4] }], (x) => op.tanh(op.mul(x, 2))));
  test('Sigmoid', () => expectGradientsMatch([{ name: 'x', shape: [2, 3, 4] }], (x) => op.sigmoid(op.mul(x, 2))));
  test('Softplus', () => expectGradientsMatch([{ name: 'x', shape: [2, 3, 4] }], (x) => op.softplus(op.mul(x, 4))));

  test('Dropout: a fed keep-mask of 0 and 1/(1-p) (the mask gets no gradient)', () =>
    expectGradientsMatch(
      [
        { name: 'x', shape: [2, 3, 4] },
        {
          name: 'mask',
          shape: [2, 3, 4],
          constant: true,
          data: Array.from({ length: 24 }, (_, i) => (i % 5 === 2 ? 0 : 1 / 0.9)),
        },
      ],
      (x, mask) => op.relu(op.mul(x, mask)),
    ));

  test('BatchNormalization (training: through batch mean and variance)', () =>
    expectGradientsMatch(
      [
        { name: 'x', shape: [3, 2, 3, 2] },
        { name: 'gamma', shape: [2], data: [1.3, -0.7] },
        { name: 'beta', shape: [2] },
      ],
      (x, gamma, beta) => op.batchNormTraining(x, gamma, beta).y,
      1e-6,
    ));

  test('LogSoftmax', () => expectGradientsMatch([{ name: 'x', shape: [4, 10] }], (x) => op.logSoftmax(x, 1)));
  test('Softmax', () => expectGradientsMatch([{ name: 'x', shape: [4, 10] }], (x) => op.softmax(x, 1)));
  test('Clip (ReLU6), both bounds', () =>
    expectGradientsMatch([{ name: 'x', shape: [2, 3, 4], data: awayFromZero(24).map((v) => 8 * v) }], (x) =>
      op.clip(x, 0.5, 3),
    ));
  test('Clip, a lower bound only', () =>
    expectGradientsMatch([{ name: 'x', shape: [2, 3, 4], data: awayFromZero(24) }], (x) => op.clip(x, 0.3)));

  test('NegativeLogLikelihoodLoss (mean)', () =>
    expectGradientsMatch(
      [
        { name: 'logp', shape: [4, 5] },
        { name: 'target', shape: [4], dtype: 'int64', data: [0, 3, 4, 3], constant: true },
      ],
      (logp, target) => op.nllLoss(logp, target),
    ));

  test('LogSoftmax + NLL compose into softmax - onehot', () =>
    expectGradientsMatch(
      [
        { name: 'x', shape: [3, 10] },
        { name: 'target', shape: [3], dtype: 'int64', data: [9, 0, 5], constant: true },
      ],
      (x, target) => op.nllLoss(op.logSoftmax(x, 1), target),
    ));
});
