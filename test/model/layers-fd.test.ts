/**
 * Each layer's gradient, the layer as a whole, against central finite differences in float64
 * (ORT runs these ops in float64): input and parameter gradients of sum(layer(x) * r). The ops
 * are checked one by one in test/graph; this checks how the layers compose them (GroupNorm and
 * LayerNorm are several ops each). Conv2d and the pooling layers, whose ops ORT runs only in
 * float32, are checked in test/graph/float32-gradients.test.ts against float64 references, and
 * every layer against PyTorch in layers-pytorch.test.ts.
 */
import { describe, expect, test } from 'vitest';
import type { Tensor } from '../../src/graph/builder.js';
import {
  BatchNorm2d,
  Dropout,
  Flatten,
  GroupNorm,
  GRU,
  LayerNorm,
  LeakyReLU,
  Linear,
  LogSoftmax,
  LSTM,
  type Module,
  MultiheadAttention,
  Residual,
  Sequential,
  Sigmoid,
  Tanh,
  TransformerEncoderLayer,
} from '../../src/index.js';
import { Network } from '../../src/model/network.js';
import { gradCheck, type InputSpec } from '../helpers/gradcheck.js';
import { entry } from '../helpers/must.js';

/** Values away from 0, so that a kink (LeakyReLU) is never crossed by the difference. */
const awayFromZero = (n: number) =>
  Array.from({ length: n }, (_, i) => Math.sign(Math.sin(i * 7.1 + 1)) * (0.2 + Math.abs(Math.sin(i * 3.3))));

const CASES: [string, () => Module, number[], ((n: number) => number[])?][] = [
  ['Linear', () => new Linear(5, 3), [4, 5]],
  ['Linear without bias, on [N, 2, 5]', () => new Linear(5, 3, { bias: false }), [2, 2, 5]],
  ['GroupNorm', () => new GroupNorm(2, 4), [2, 4, 3, 3]],
  ['LayerNorm over C, H, W', () => new LayerNorm([3, 2, 2]), [2, 3, 2, 2]],
  ['BatchNorm2d (batch statistics)', () => new BatchNorm2d(3), [3, 3, 2, 2]],
  ['LeakyReLU', () => new LeakyReLU(0.1), [2, 6], awayFromZero],
  ['Tanh', () => new Tanh(), [2, 6]],
  ['Sigmoid', () => new Sigmoid(), [2, 6]],
  ['LogSoftmax', () => new LogSoftmax(1), [3, 5]],
  ['Flatten then Linear', () => new Sequential(new Flatten(), new Linear(12, 4)), [2, 3, 2, 2]],
  [
    'Residual (a body of Linear and Tanh, added to its input)',
    () => new Residual(new Sequential(new Linear(6, 6), new Tanh())),
    [3, 6],
  ],
  ['Dropout (a fed mask)', () => new Dropout(0.25), [2, 8]],
  ['LSTM (bidirectional, batch first)', () => new LSTM(3, 2, { batchFirst: true, bidirectional: true }), [2, 3, 3]],
  ['GRU (2 layers)', () => new GRU(3, 2, { numLayers: 2 }), [3, 2, 3]],
  ['MultiheadAttention (2 heads)', () => new MultiheadAttention(4, 2), [3, 2, 4]],
  [
    'TransformerEncoderLayer (norm first)',
    () => new TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, batchFirst: true, normFirst: true }),
    [2, 3, 4],
  ],
];

describe.each(CASES)('%s', (_label, make, shape, data) => {
  test('input and parameter gradients against finite differences (float64)', async () => {
    const net = new Network('layer', make(), shape.slice(1));
    const state = net.stateSpecs;
    const specs: InputSpec[] = [
      { name: 'x', shape, data: data?.(shape.reduce((a, b) => a * b, 1)) },
      // Buffers (running statistics) go in, but take no gradient.
      ...state.map((s) => ({ name: s.name, shape: s.shape, constant: !s.trainable })),
    ];
    const mask = {
      name: 'mask',
      shape,
      constant: true,
      data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 4 === 1 ? 0 : 1 / 0.75)),
    };
    const usesMask = make() instanceof Dropout;
    const results = await gradCheck(usesMask ? [...specs, mask] : specs, (x, ...rest) => {
      const byName = new Map(state.map((s, i) => [s.name, rest[i]]));
      return net.forward(x, 'train', {
        state: (n) => entry(byName, n),
        updateBuffer: () => {},
        dropoutMask: (): Tensor => rest[state.length],
      });
    });
    expect(results.map((r) => r.name)).toEqual(['x', ...state.filter((s) => s.trainable).map((s) => s.name)]);
    for (const r of results) {
      expect(r.maxRelError, `${r.name}: analytic vs numeric`).toBeLessThan(1e-7);
      expect(Math.max(...r.numeric.map(Math.abs)), `${r.name}: not trivially zero`).toBeGreaterThan(1e-3);
    }
  });
});
