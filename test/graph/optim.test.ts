/**
 * Optimizer updates emitted into the graph, run by ORT for three steps, against PyTorch's
 * update rules written out in plain float64 JS (torch.optim.SGD / Adam / AdamW).
 */
import * as ort from '../../src/util/ort.node.js';
import { describe, expect, test } from 'vitest';
import { Graph } from '../../src/graph/builder.js';
import { type OptimizerOptions, optimizerSlots, optimizerUpdate } from '../../src/graph/optim.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { OPSET } from '../../src/train/node-runtime.js';

const P0 = [0.5, -1.25, 2, 0.1];
const GRADS = [
  [0.3, -0.2, 0.05, 1],
  [-0.1, 0.4, 0.2, -0.5],
  [0.25, 0.25, -0.3, 0.05],
];
const LR = 0.1;

/** PyTorch's step, for one scalar parameter; `state` is the optimizer's per-parameter state. */
function reference(opts: OptimizerOptions, p: number, g: number, state: number[], t: number): number {
  if (opts.kind === 'sgd') {
    const d = g + opts.weightDecay * p;
    if (opts.momentum === 0) return p - LR * d;
    state[0] = t === 1 ? d : opts.momentum * state[0] + d;
    return p - LR * (opts.nesterov ? d + opts.momentum * state[0] : state[0]);
  }
  const { beta1, beta2, eps, weightDecay } = opts;
  let q = p;
  let d = g;
  if (opts.kind === 'adamw') q = p * (1 - LR * weightDecay);
  else d = g + weightDecay * p;
  state[0] = beta1 * state[0] + (1 - beta1) * d;
  state[1] = beta2 * state[1] + (1 - beta2) * d * d;
  const denom = Math.sqrt(state[1]) / Math.sqrt(1 - beta2 ** t) + eps;
  return q - (LR / (1 - beta1 ** t)) * (state[0] / denom);
}

async function runSteps(opts: OptimizerOptions): Promise<number[]> {
  const g = new Graph('optim');
  const p = g.input('p', 'float32', [4]);
  const grad = g.input('g', 'float32', [4]);
  const lr = g.input('lr', 'float32', []);
  const step = g.input('step', 'float32', []);
  const slots = optimizerSlots(opts).map((s) => g.input(s, 'float32', [4]));
  const out = optimizerUpdate(opts, p, grad, slots, { lr, step: opts.kind === 'sgd' ? undefined : step });
  g.output(out.param, 'p.next');
  out.slots.forEach((s, i) => {
    g.output(s, `${optimizerSlots(opts)[i]}.next`);
  });
  const session = await ort.InferenceSession.create(serializeModel(g, { opset: OPSET }));
  const t = (a: number[]) => new ort.Tensor('float32', Float32Array.from(a), [a.length]);
  let param: ort.Tensor = t(P0);
  let state: ort.Tensor[] = optimizerSlots(opts).map(() => t([0, 0, 0, 0]));
  for (let s = 0; s < GRADS.length; s++) {
    const feeds: Record<string, ort.Tensor> = {
      p: param,
      g: t(GRADS[s]),
      lr: new ort.Tensor('float32', Float32Array.of(LR), []),
      step: new ort.Tensor('float32', Float32Array.of(s + 1), []),
    };
    optimizerSlots(opts).forEach((name, i) => {
      feeds[name] = state[i];
    });
    const r = await session.run(feeds);
    param = r['p.next'];
    state = optimizerSlots(opts).map((name) => r[`${name}.next`]);
  }
  return Array.from(param.data as Float32Array);
}

const cases: [string, OptimizerOptions][] = [
  ['SGD', { kind: 'sgd', momentum: 0, weightDecay: 0, nesterov: false }],
  ['SGD momentum + weight decay', { kind: 'sgd', momentum: 0.9, weightDecay: 0.01, nesterov: false }],
  ['SGD Nesterov', { kind: 'sgd', momentum: 0.9, weightDecay: 0, nesterov: true }],
  ['Adam + weight decay', { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }],
  ['AdamW', { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 }],
];

describe('optimizer updates follow PyTorch', () => {
  for (const [label, opts] of cases) {
    test(label, async () => {
      const ours = await runSteps(opts);
      const expected = P0.map((p0, i) => {
        const state = [0, 0];
        let p = p0;
        GRADS.forEach((g, s) => {
          p = reference(opts, p, g[i], state, s + 1);
        });
        return p;
      });
      ours.forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i], 5);
      });
      expect(ours).not.toEqual(P0);
    });
  }
});
