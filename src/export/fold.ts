/**
 * BatchNorm folding: a BatchNorm right after a conv becomes part of the conv's weights,
 *   s = gamma / sqrt(running_var + eps)
 *   W' = W * s (per output channel),  b' = (b - running_mean) * s + beta
 * computed in float64 and stored as float32. The folded state has no BatchNorm entries.
 * A state that would fold into NaN or infinity is refused, naming the tensor to blame.
 */
import { firstNonFinite as firstNonFiniteEntry, type Network, type StateDict } from '../model/network.js';
import { ExportError } from './errors.js';

/** Index of the first non-finite value, or -1. */
const firstNonFinite = (data: Float32Array): number => data.findIndex((v) => !Number.isFinite(v));

function assertFiniteState(state: StateDict): void {
  const bad = firstNonFiniteEntry(state);
  if (bad) throw new ExportError(`cannot export: ${bad}; the model would compute NaN`);
}

/** A BatchNorm's entries, all of which folding consumes. */
const BATCH_NORM_STATE = ['weight', 'bias', 'running_mean', 'running_var'];

/**
 * The state of `net.withBatchNormFolded()`: every BatchNorm that follows a conv
 * (`net.batchNormFolds()`) folded into that conv's weight and bias (a conv without a bias gets
 * one); BatchNorms elsewhere stay as they are.
 */
export function foldBatchNorm(net: Network, state: StateDict): StateDict {
  assertFiniteState(state);
  const folded: StateDict = new Map(state);
  for (const {
    conv: { path: conv },
    bn: { path: bn, module },
  } of net.batchNormFolds()) {
    const get = (name: string) => {
      const t = state.get(name);
      if (!t) throw new Error(`cannot fold ${bn}: the state has no '${name}'`);
      return t;
    };
    const [gamma, beta, mean, variance] = BATCH_NORM_STATE.map((k) => get(`${bn}.${k}`).data);
    const negative = variance.findIndex((v) => v < 0);
    if (negative >= 0) {
      throw new ExportError(
        `cannot export: '${bn}.running_var' holds ${variance[negative]} (element ${negative}); a variance cannot be negative (folding takes its square root)`,
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
      if (bad >= 0) throw new ExportError(`cannot export: folding ${bn} into ${conv} gives ${data[bad]} in '${name}' (element ${bad})`);
    }
    folded.set(`${conv}.weight`, { shape: weight.shape, data: w2 });
    folded.set(`${conv}.bias`, { shape: [b.length], data: b2 });
    for (const k of BATCH_NORM_STATE) folded.delete(`${bn}.${k}`);
  }
  // In the folded network's order (a bias added to a conv goes after its weight, not last).
  return new Map(
    net.withBatchNormFolded().stateSpecs.flatMap((s) => {
      const t = folded.get(s.name);
      return t ? [[s.name, t] as const] : [];
    }),
  );
}
