/**
 * Every layer against PyTorch's own (llm.c style): the fixture holds, per case, PyTorch's
 * float64 training-mode forward of the layer on a random input, the gradients of
 * sum(output * r) for a random r with respect to the input and each parameter, and the buffers
 * after the step. Here the same layer, written with this package's API, is emitted with its
 * state fed under the names our tree gives it, which must be PyTorch's state_dict names, and
 * ORT runs forward and backward in float32. (Finite-difference checks of each op are in
 * test/graph; this checks the layers' semantics: padding rules, defaults, momentum, eps.)
 * Regenerate: /usr/bin/python3 test/fixtures/pytorch_layers.py
 */
import * as ort from '../../src/util/ort.node.js';
import { describe, expect, test } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph, type Tensor } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { serializeModel } from '../../src/graph/serialize.js';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  GELU,
  GroupNorm,
  GRU,
  Hardsigmoid,
  Hardswish,
  LayerNorm,
  LeakyReLU,
  Linear,
  LogSoftmax,
  LSTM,
  MaxPool2d,
  type Module,
  MultiheadAttention,
  ReLU,
  Residual,
  Sequential,
  Sigmoid,
  SiLU,
  Tanh,
  TransformerEncoderLayer,
} from '../../src/index.js';
import { Network } from '../../src/model/network.js';
import { OPSET } from '../../src/train/core/opset.js';
import { type FixtureTensor, readFixture, relativeError } from '../helpers/fixture.js';
import { must } from '../helpers/must.js';

const fx = readFixture('pytorch-layers.safetensors');

/** The same layers as test/fixtures/pytorch_layers.py's CASES, by name. */
const CASES: Record<string, () => Module> = {
  conv: () => new Conv2d(3, 4, 3, { padding: 1 }),
  conv_stride2: () => new Conv2d(3, 4, 3, { stride: 2, padding: 1 }),
  conv_dilation2_nobias: () => new Conv2d(2, 3, 3, { dilation: 2, padding: 2, bias: false }),
  conv_groups2: () => new Conv2d(4, 6, 3, { padding: 1, groups: 2 }),
  conv_depthwise: () => new Conv2d(4, 4, 3, { padding: 1, groups: 4, bias: false }),
  conv_same_even_kernel: () => new Conv2d(2, 3, 4, { padding: 'same' }),
  batchnorm: () => new BatchNorm2d(3),
  groupnorm: () => new GroupNorm(2, 4),
  layernorm: () => new LayerNorm([3, 4, 5]),
  relu: () => new ReLU(),
  leakyrelu: () => new LeakyReLU(0.2),
  tanh: () => new Tanh(),
  sigmoid: () => new Sigmoid(),
  silu: () => new SiLU(),
  gelu: () => new GELU(),
  gelu_tanh: () => new GELU('tanh'),
  hardsigmoid: () => new Hardsigmoid(),
  hardswish: () => new Hardswish(),
  maxpool: () => new MaxPool2d(2),
  maxpool_k3_s2_p1: () => new MaxPool2d(3, { stride: 2, padding: 1 }),
  maxpool_k3_s2_ceil: () => new MaxPool2d(3, { stride: 2, ceilMode: true }),
  maxpool_k3_s2_p1_ceil: () => new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
  avgpool: () => new AvgPool2d(2),
  avgpool_k3_s2_p1: () => new AvgPool2d(3, { stride: 2, padding: 1 }),
  avgpool_k3_s2_p1_exclude_pad: () => new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
  adaptiveavgpool: () => new AdaptiveAvgPool2d(1),
  flatten: () => new Flatten(),
  linear: () => new Linear(12, 5),
  linear_nobias: () => new Linear(12, 5, { bias: false }),
  logsoftmax: () => new LogSoftmax(1),
  dropout: () => new Dropout(0.3),
  residual_block: () =>
    new Residual(
      new Sequential(
        new Conv2d(4, 8, 3, { stride: 2, padding: 1, bias: false }),
        new GroupNorm(4, 8),
        new ReLU(),
        new Conv2d(8, 8, 3, { padding: 1, bias: false }),
        new GroupNorm(4, 8),
      ),
      new Conv2d(4, 8, 1, { stride: 2, bias: false }),
    ),
  sequential_named: () =>
    new Sequential(
      new Conv2d(1, 4, 3, { bias: false }),
      new BatchNorm2d(4),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(36, 10),
      new LogSoftmax(1),
    ),
  two_small_batchnorms: () =>
    new Sequential(
      new Conv2d(2, 4, 3, { bias: false }),
      new BatchNorm2d(4),
      new ReLU(),
      new Conv2d(4, 4, 3, { bias: false }),
      new BatchNorm2d(4),
    ),
  lstm: () => new LSTM(5, 4),
  lstm_bidirectional_batch_first: () => new LSTM(5, 4, { batchFirst: true, bidirectional: true }),
  lstm_2layers_bidirectional_nobias: () => new LSTM(5, 3, { numLayers: 2, bidirectional: true, bias: false }),
  gru: () => new GRU(5, 4),
  gru_bidirectional_batch_first: () => new GRU(5, 4, { batchFirst: true, bidirectional: true }),
  gru_2layers_batch_first: () => new GRU(5, 3, { numLayers: 2, batchFirst: true }),
  mha: () => new MultiheadAttention(8, 2, { batchFirst: true }),
  mha_seq_first_nobias: () => new MultiheadAttention(8, 4, { bias: false }),
  encoder_layer: () => new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true }),
  encoder_layer_norm_first_gelu: () =>
    new TransformerEncoderLayer(8, 2, {
      dimFeedforward: 16,
      dropout: 0,
      activation: 'gelu',
      batchFirst: true,
      normFirst: true,
    }),
  encoder_layer_seq_first: () => new TransformerEncoderLayer(8, 4, { dimFeedforward: 12, dropout: 0 }),
};

const get = (name: string): FixtureTensor => {
  const t = fx.get(name);
  if (!t) throw new Error(`fixture has no '${name}'`);
  return t;
};
const f32 = (t: FixtureTensor) => new ort.Tensor('float32', Float32Array.from(t.data as Float64Array), t.shape);
const entries = (prefix: string) =>
  [...fx.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));

describe.each(Object.keys(CASES))('%s: as PyTorch', (name) => {
  test('state_dict names, forward, gradients and updated buffers', async () => {
    const input = get(`${name}.input`);
    const net = new Network(name, CASES[name](), input.shape.slice(1));
    // Our tree names the state as PyTorch does, or the fixture's state would not fit.
    expect(net.stateSpecs.map((s) => s.name).sort()).toEqual(entries(`${name}.state.`).sort());

    const g = new Graph(name);
    const x = g.input('x', 'float32', input.shape);
    const state = new Map(net.stateSpecs.map((s) => [s.name, g.input(s.name, 'float32', s.shape)]));
    const buffers = new Map<string, Tensor>();
    const y = net.forward(x, 'train', {
      state: (n) => must(state.get(n), n),
      updateBuffer: (n, v) => buffers.set(n, v),
      dropoutMask: (_n, shape) => g.input('mask', 'float32', shape),
    });
    const r = g.input('r', 'float32', get(`${name}.r`).shape);
    const loss = op.reduceSum(op.mul(y, r), [...Array(y.rank).keys()]);
    g.output(y, 'y');
    const params = net.parameterSpecs.map((s) => must(state.get(s.name), s.name));
    gradients(loss, [x, ...params]).forEach((d, i) => {
      const of = i === 0 ? 'input' : params[i - 1].name;
      g.output(must(d, `the gradient of ${of}`), `grad.${of}`);
    });
    for (const [n, v] of buffers) g.output(v, `next.${n}`);

    const session = await ort.InferenceSession.create(serializeModel(g, { opset: OPSET }), { intraOpNumThreads: 1 });
    const feeds: Record<string, ort.Tensor> = { x: f32(input), r: f32(get(`${name}.r`)) };
    for (const s of net.stateSpecs) feeds[s.name] = f32(get(`${name}.state.${s.name}`));
    if (g.inputs.some((t) => t.name === 'mask')) feeds.mask = f32(get(`${name}.mask`));
    const out = await session.run(feeds);

    const close = (ours: string, ref: string, tol: number) =>
      expect(
        relativeError(out[ours].data as Float32Array, get(`${name}.${ref}`).data as Float64Array),
        `${name}: ${ref}`,
      ).toBeLessThan(tol);
    close('y', 'output', 1e-5);
    close('grad.input', 'grad.input', 1e-4);
    for (const p of net.parameterSpecs) close(`grad.${p.name}`, `grad.${p.name}`, 1e-4);
    expect([...buffers.keys()].sort()).toEqual(entries(`${name}.next.`).sort());
    for (const b of buffers.keys()) close(`next.${b}`, `next.${b}`, 1e-5);
    await session.release();
  });
});
