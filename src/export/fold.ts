/**
 * BatchNorm folding: a BatchNorm right after a conv becomes part of the conv's weights,
 *   s = gamma / sqrt(running_var + eps)
 *   W' = W * s (per output channel),  b' = (b - running_mean) * s + beta
 * computed in float64 and stored as float32. The folded state has no BatchNorm entries.
 * A state that would fold into NaN or infinity is refused, naming the tensor to blame. Which
 * BatchNorms fold is found here too (`batchNormFolds`), as PyTorch keeps fusion in
 * torch/nn/utils/fusion.py, apart from the module tree.
 */
import { Graph, type Tensor } from '../graph/builder.js';
import { BatchNorm2d } from '../model/layers/batch-norm.js';
import { Conv2d } from '../model/layers/conv.js';
import { Identity } from '../model/layers/reshape.js';
import type { Module } from '../model/module.js';
import { type CallRecord, Network } from '../model/network.js';
import { firstNonFinite as firstNonFiniteEntry, type StateDict } from '../model/state-dict.js';
import { ExportError } from './errors.js';

/** A BatchNorm that reads only the output of the conv before it: export folds it into that conv. */
export interface BatchNormFold {
  conv: { path: string; module: Conv2d };
  bn: { path: string; module: BatchNorm2d };
}

const foldsOf = new WeakMap<Network, BatchNormFold[]>();

/**
 * The BatchNorms of `net` that fold into a conv: each reads the output of a Conv2d and nothing
 * else reads that output, and both are called once. Found by tracing the evaluation graph, so it
 * holds for any forward, not only Sequential ones.
 */
function batchNormFolds(net: Network): BatchNormFold[] {
  const known = foldsOf.get(net);
  if (known) return known;
  const graph = new Graph(`${net.name}-trace`);
  const calls: CallRecord[] = [];
  const inputs = new Map(net.stateSpecs.map((s) => [s.name, graph.input(s.name, 'float32', s.shape)]));
  net.forward(
    graph.input('input', 'float32', ['N', ...net.inputShape]),
    'eval',
    {
      state: (n) => {
        const input = inputs.get(n);
        if (!input) throw new Error(`${net.name}: its forward reads state '${n}', which it does not declare`);
        return input;
      },
    },
    (c) => calls.push(c),
  );
  const callCount = new Map<Module, number>();
  for (const c of calls) callCount.set(c.module, (callCount.get(c.module) ?? 0) + 1);
  const readers = (t: Tensor) => graph.nodes.filter((n) => n.inputs.includes(t)).length;
  const folds: BatchNormFold[] = [];
  for (const bn of calls) {
    if (!(bn.module instanceof BatchNorm2d)) continue;
    const conv = calls.find((c) => c.output === bn.input);
    if (!conv || !(conv.module instanceof Conv2d) || readers(bn.input) !== 1) continue;
    if (callCount.get(conv.module) !== 1 || callCount.get(bn.module) !== 1) continue;
    folds.push({ conv: { path: conv.path, module: conv.module }, bn: { path: bn.path, module: bn.module } });
  }
  foldsOf.set(net, folds);
  return folds;
}

/**
 * `net` with each foldable BatchNorm folded into its conv (an Identity in its place, the conv
 * given a bias): the architecture of an exported model, whose state `foldBatchNorm` makes.
 * Training it is fine-tuning with frozen BatchNorm statistics, as one does on a handful of
 * examples, whose batch statistics would mean nothing.
 */
export function withBatchNormFolded(net: Network): Network {
  const substitutes = new Map(net.options.substitutes);
  for (const { conv, bn } of batchNormFolds(net)) {
    substitutes.set(bn.module, new Identity());
    substitutes.set(conv.module, conv.module.withBias());
  }
  return new Network(`${net.name}-folded`, net.root, net.inputShape, { ...net.options, substitutes });
}

/** Index of the first non-finite value, or -1. */
const firstNonFinite = (data: Float32Array): number => data.findIndex((v) => !Number.isFinite(v));

function assertFiniteState(state: StateDict): void {
  const bad = firstNonFiniteEntry(state);
  if (bad) throw new ExportError(`cannot export: ${bad}; the model would compute NaN`);
}

/** A BatchNorm's entries, all of which folding consumes. */
const BATCH_NORM_STATE = ['weight', 'bias', 'running_mean', 'running_var'];

/**
 * The state of `withBatchNormFolded(net)`: every BatchNorm that follows a conv
 * (`batchNormFolds(net)`) folded into that conv's weight and bias (a conv without a bias gets
 * one); BatchNorms elsewhere stay as they are.
 */
export function foldBatchNorm(net: Network, state: StateDict): StateDict {
  assertFiniteState(state);
  const folded: StateDict = new Map(state);
  for (const {
    conv: { path: conv },
    bn: { path: bn, module },
  } of batchNormFolds(net)) {
    const get = (name: string) => {
      const t = state.get(name);
      if (!t) throw new Error(`cannot fold ${bn}: the state has no '${name}'`);
      return t;
    };
    const [gamma, beta, mean, variance] = BATCH_NORM_STATE.map((k) => get(`${bn}.${k}`).data);
    const negative = variance.findIndex((v) => v < 0);
    if (negative >= 0) {
      throw new ExportError(
        `cannot export: '${bn}.running_var' holds ${variance[negative]} (element ${negative}); ` +
          `a variance cannot be negative (folding takes its square root)`,
      );
    }
    const weight = get(`${conv}.weight`);
    const w = weight.data;
    const b = state.get(`${conv}.bias`)?.data ?? new Float32Array(gamma.length); // a conv without bias folds into one
    const perChannel = w.length / b.length;
    const w2 = new Float32Array(w.length);
    const b2 = new Float32Array(b.length);
    for (let o = 0; o < b.length; o++) {
      const s = gamma[o] / Math.sqrt(variance[o] + module.eps);
      for (let j = 0; j < perChannel; j++) w2[o * perChannel + j] = w[o * perChannel + j] * s;
      b2[o] = (b[o] - mean[o]) * s + beta[o];
    }
    // Finite inputs can still overflow float32 (a huge gamma over a tiny variance).
    for (const [name, data] of [
      [`${conv}.weight`, w2],
      [`${conv}.bias`, b2],
    ] as const) {
      const bad = firstNonFinite(data);
      if (bad >= 0)
        throw new ExportError(
          `cannot export: folding ${bn} into ${conv} gives ${data[bad]} in '${name}' (element ${bad})`,
        );
    }
    folded.set(`${conv}.weight`, { shape: weight.shape, data: w2 });
    folded.set(`${conv}.bias`, { shape: [b.length], data: b2 });
    for (const k of BATCH_NORM_STATE) folded.delete(`${bn}.${k}`);
  }
  // In the folded network's order (a bias added to a conv goes after its weight, not last).
  return new Map(
    withBatchNormFolded(net).stateSpecs.flatMap((s) => {
      const t = folded.get(s.name);
      return t ? [[s.name, t] as const] : [];
    }),
  );
}
