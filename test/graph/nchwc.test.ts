/**
 * Convs lowered to ORT's NCHWc kernels (graph/nchwc.ts) against the same convs as built:
 * same outputs, for each layout MLAS picks (input channels below one block, or a multiple of
 * it), with padded output channels, bias, padding and stride; and what is left alone.
 */
import { readFileSync } from 'node:fs';
import * as ort from '../../src/util/ort.node.js';
import { describe, expect, test } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph, staticShape, type Tensor } from '../../src/graph/builder.js';
import { NCHWC_DOMAIN, nchwcLowering } from '../../src/graph/nchwc.js';
import * as op from '../../src/graph/ops/index.js';
import { parseModel, serializeModel } from '../../src/graph/serialize.js';
import { evalGraph, IMAGE, LOG_PROBS, next, trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { OPSET } from '../../src/train/core/opset.js';
import { nchwcBlockSize, nodeRuntime } from '../../src/train/node-runtime.js';
import { Rng } from '../../src/util/rng.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';
import { must } from '../helpers/must.js';

const block = await nchwcBlockSize();
const lowering = nchwcLowering(block);
const cpuFlags = process.platform === 'linux' ? readFileSync('/proc/cpuinfo', 'utf8') : '';

function random(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.range(-1, 1));
}

const nchwcConvs = (bytes: Uint8Array) =>
  must(parseModel(bytes).graph?.node, 'the nodes').filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv')
    .length;

async function runBoth(g: Graph, feeds: Record<string, ort.Tensor>) {
  const plain = serializeModel(g, { opset: OPSET });
  const lowered = serializeModel(g, { opset: OPSET, lowering });
  const options = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
  const [a, b] = await Promise.all([plain, lowered].map((m) => ort.InferenceSession.create(m, options)));
  return { plain: await a.run(feeds), lowered: await b.run(feeds), nchwcConvs: nchwcConvs(lowered) };
}

const maxAbsDiff = (a: ort.Tensor, b: ort.Tensor) => {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  expect(y.length).toBe(x.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
};

/**
 * Outputs d<name> for each of `wrt`, runs `g` plain and lowered on random inputs (seeded), and
 * expects each gradient equal within 1e-5 of its largest value; gives the lowered NCHWc conv count.
 */
async function loweredGradientsMatch(g: Graph, loss: Tensor, wrt: Tensor[], seed: number): Promise<number> {
  gradients(loss, wrt).forEach((d, i) => {
    g.output(must(d, `d${wrt[i].name}`), `d${wrt[i].name}`);
  });
  const rng = new Rng(seed);
  const feeds = Object.fromEntries(
    wrt.map((t) => {
      const shape = staticShape(t, t.name);
      return [
        t.name,
        new ort.Tensor(
          'float32',
          random(
            shape.reduce((a, d) => a * d, 1),
            rng,
          ),
          shape,
        ),
      ];
    }),
  );
  const out = await runBoth(g, feeds);
  for (const { name } of wrt) {
    const scale = Math.max(...(out.plain[`d${name}`].data as Float32Array).map(Math.abs));
    expect(maxAbsDiff(out.plain[`d${name}`], out.lowered[`d${name}`]) / scale, `d${name}`).toBeLessThan(1e-5);
  }
  return out.nchwcConvs;
}

test('ORT reports an NCHWc block on CPUs with AVX2 (8 channels) or AVX-512 (16), none elsewhere', () => {
  const flags = /^flags\s*:(.*)$/m.exec(cpuFlags)?.[1].split(/\s+/) ?? [];
  if (process.arch === 'x64' && flags.includes('avx512f')) expect(block).toBe(16);
  else if (process.arch === 'x64' && flags.includes('avx2')) expect(block).toBe(8);
  else expect([1, 4, 8, 16]).toContain(block); // ARM builds: whatever MLAS has there
  expect(lowering === undefined).toBe(block === 1);
});

/** The lowering of the Node runtime made with `options` (which always has the method). */
function loweringOf(options?: Parameters<typeof nodeRuntime>[0]) {
  const runtime = nodeRuntime(options);
  if (!runtime.lowering) throw new Error('the Node runtime has no lowering method');
  return runtime.lowering();
}

test('the Node runtime lowers on the CPU unless told not to (option, ONNX_MNIST_NCHWC=0) or on CUDA', async () => {
  expect((await loweringOf()) !== undefined).toBe(block > 1);
  expect(await loweringOf({ nchwc: false })).toBeUndefined();
  expect(await loweringOf({ device: 'cuda' })).toBeUndefined();
  const saved = process.env.ONNX_MNIST_NCHWC;
  process.env.ONNX_MNIST_NCHWC = '0';
  try {
    expect(await loweringOf()).toBeUndefined();
  } finally {
    if (saved === undefined) delete process.env.ONNX_MNIST_NCHWC;
    else process.env.ONNX_MNIST_NCHWC = saved;
  }
});

describe.skipIf(block === 1)(`convs lowered to NCHWc (block ${block}) give the convs' outputs`, () => {
  const small = Math.max(4, block - 4); // fewer input channels than a block
  const cases = [
    {
      name: 'input padded to a block, whole output blocks',
      cin: small,
      cout: 2 * block,
      k: 3,
      pads: [1, 1, 1, 1],
      lowered: true,
    },
    { name: 'one input channel', cin: 1, cout: block, k: 3, pads: [0, 0, 0, 0], lowered: true },
    {
      name: 'blocked input, output padded to a block',
      cin: 2 * block,
      cout: block - 4,
      k: 3,
      pads: [1, 1, 1, 1],
      lowered: true,
    },
    {
      name: 'blocked input, 1x1 with bias, padded output',
      cin: 2 * block,
      cout: block + 4,
      k: 1,
      pads: [0, 0, 0, 0],
      bias: true,
      lowered: true,
    },
    {
      name: 'blocked input, uneven padding, stride 2',
      cin: block,
      cout: block,
      k: 3,
      pads: [0, 1, 2, 1],
      strides: [2, 2],
      lowered: true,
    },
    {
      name: 'input and output padded to whole blocks',
      cin: small,
      cout: block - 4,
      k: 3,
      pads: [1, 1, 1, 1],
      lowered: true,
    },
    {
      name: 'input padded to two blocks, 1x1',
      cin: block + 4,
      cout: block,
      k: 1,
      pads: [0, 0, 0, 0],
      bias: true,
      lowered: true,
    },
    {
      name: 'input below one block, not a multiple of 4, output whole blocks',
      cin: 3,
      cout: block,
      k: 3,
      pads: [1, 1, 1, 1],
      lowered: true,
    },
    {
      name: 'input below one block, not a multiple of 4, output padded: left as built',
      cin: 3,
      cout: block - 4,
      k: 3,
      pads: [1, 1, 1, 1],
      lowered: false,
    },
    {
      name: 'depthwise, whole blocks',
      cin: 2 * block,
      cout: 2 * block,
      k: 3,
      pads: [1, 1, 1, 1],
      group: 2 * block,
      lowered: true,
    },
    {
      name: 'depthwise 5x5, stride 2, with bias',
      cin: block,
      cout: block,
      k: 5,
      pads: [2, 1, 2, 2],
      strides: [2, 2],
      group: block,
      bias: true,
      lowered: true,
    },
    {
      name: 'depthwise, not whole blocks: left as built',
      cin: block + 4,
      cout: block + 4,
      k: 3,
      pads: [1, 1, 1, 1],
      group: block + 4,
      lowered: false,
    },
    {
      name: 'two groups: left as built',
      cin: 2 * block,
      cout: 2 * block,
      k: 3,
      pads: [1, 1, 1, 1],
      group: 2,
      lowered: false,
    },
    {
      name: 'input above one block, not a multiple of 4: left as built',
      cin: block + 2,
      cout: block,
      k: 3,
      pads: [1, 1, 1, 1],
      lowered: false,
    },
  ];
  test.each(cases)('$name', async ({ cin, cout, k, pads, strides, group = 1, bias, lowered }) => {
    const rng = new Rng(7);
    const g = new Graph('conv');
    const x = g.input('x', 'float32', [3, cin, 9, 11]);
    const w = g.input('w', 'float32', [cout, cin / group, k, k]);
    const b = bias ? g.input('b', 'float32', [cout]) : undefined;
    g.output(op.conv(x, w, b, { pads, strides, group }), 'y');
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor('float32', random(3 * cin * 99, rng), [3, cin, 9, 11]),
      w: new ort.Tensor('float32', random((cout * cin * k * k) / group, rng), [cout, cin / group, k, k]),
      ...(b ? { b: new ort.Tensor('float32', random(cout, rng), [cout]) } : {}),
    };
    const out = await runBoth(g, feeds);
    expect(out.nchwcConvs).toBe(lowered ? 1 : 0);
    expect(out.lowered.y.dims).toEqual(out.plain.y.dims);
    expect(maxAbsDiff(out.plain.y, out.lowered.y)).toBeLessThan(1e-5 * cin * k * k);
  });

  test('constant weights are left to ORT', async () => {
    const g = new Graph('left-alone');
    const x = g.input('x', 'float32', [2, block, 6, 6]);
    const w = g.constant('float32', [block, block, 3, 3], random(block * block * 9, new Rng(1)));
    g.output(op.conv(x, w), 'y');
    expect(nchwcConvs(serializeModel(g, { opset: OPSET, lowering }))).toBe(0);
  });

  test("the seed network's training step, lowered, takes the same first step", async () => {
    const net = seedCnn({ dropout: 0 });
    const batch = 8;
    const { graph, carried } = trainStepGraph(net, batch, DEFAULT_SGD);
    const rng = new Rng(3);
    const initial = net.initialState(1);
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of graph.inputs) {
      const shape = input.shape as number[];
      const n = shape.reduce((a, d) => a * d, 1);
      const state = initial.get(input.name);
      if (input.dtype === 'int64')
        feeds[input.name] = new ort.Tensor(
          'int64',
          BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)),
          shape,
        );
      else if (state) feeds[input.name] = new ort.Tensor('float32', state.data, shape);
      else if (n === 1) feeds[input.name] = new ort.Tensor('float32', Float32Array.of(0.05), shape);
      else if (input.name === 'input') feeds[input.name] = new ort.Tensor('float32', random(n, rng), shape);
      else feeds[input.name] = new ort.Tensor('float32', new Float32Array(n), shape); // momentum buffers
    }
    const out = await runBoth(graph, feeds);
    // the seven convs after conv1 (whose 1 -> 12 channels stay as built), forward and input gradient
    expect(out.nchwcConvs).toBe(7 + 7);
    expect(
      Math.abs((out.plain.loss.data as Float32Array)[0] - (out.lowered.loss.data as Float32Array)[0]),
    ).toBeLessThan(1e-5);
    for (const e of carried)
      expect(maxAbsDiff(out.plain[next(e.name)], out.lowered[next(e.name)]), e.name).toBeLessThan(1e-4);
  });

  test("a strided conv's gradients, lowered (the phase conv of dX and the folded filter swaps), equal the built ones", async () => {
    const g = new Graph('strided-grad');
    const x = g.input('x', 'float32', [4, 16, 7, 7]);
    const w1 = g.input('w1', 'float32', [32, 16, 3, 3]);
    const w2 = g.input('w2', 'float32', [16, 32, 3, 3]);
    const h = op.relu(op.conv(x, w1, undefined, { pads: [1, 1, 1, 1], strides: [2, 2] }));
    const y = op.conv(h, w2, undefined, { pads: [1, 1, 1, 1] });
    const loss = op.reduceSum(op.mul(y, y), [0, 1, 2, 3]);
    // both forwards, dX of each (conv2's as the phase conv)
    expect(await loweredGradientsMatch(g, loss, [x, w1, w2], 5)).toBeGreaterThanOrEqual(4);
  });

  test("a depthwise block's gradients, lowered (forward and dX on the depthwise kernel), equal the built ones", async () => {
    const g = new Graph('depthwise-grad');
    const c = 2 * block;
    const x = g.input('x', 'float32', [4, c, 7, 7]);
    const dw = g.input('dw', 'float32', [c, 1, 3, 3]);
    const pw = g.input('pw', 'float32', [c, c, 1, 1]);
    const h = op.relu(op.conv(x, dw, undefined, { pads: [1, 1, 1, 1], group: c }));
    const y = op.conv(h, pw);
    const loss = op.reduceSum(op.mul(y, y), [0, 1, 2, 3]);
    // both forwards, both input gradients
    expect(await loweredGradientsMatch(g, loss, [x, dw, pw], 9)).toBeGreaterThanOrEqual(4);
  });

  test('the evaluation graph, batch symbolic, gives the same log-probabilities lowered', async () => {
    const net = seedCnn();
    const state = net.initialState(2);
    const feeds: Record<string, ort.Tensor> = {
      [IMAGE]: new ort.Tensor('float32', random(5 * 784, new Rng(4)), [5, 1, 28, 28]),
    };
    for (const [name, t] of state) feeds[name] = new ort.Tensor('float32', t.data, [...t.shape]);
    const out = await runBoth(evalGraph(net), feeds);
    expect(out.nchwcConvs).toBe(7);
    expect(maxAbsDiff(out.plain[LOG_PROBS], out.lowered[LOG_PROBS])).toBeLessThan(1e-5);
  });
});
