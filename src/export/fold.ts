/**
 * BatchNorm folding: a BatchNorm right after a conv becomes part of the conv's weights,
 *   s = gamma / sqrt(running_var + eps)
 *   W' = W * s (per output channel),  b' = (b - running_mean) * s + beta
 * computed in float64 and stored as float32. The folded state has no BatchNorm entries.
 * A state that would fold into NaN or infinity is refused, naming the tensor to blame.
 */
import { BatchNorm2d, Conv2d } from '../model/layers.js';
import { firstNonFinite as firstNonFiniteEntry, type Network, type StateDict } from '../model/network.js';
import { ExportError } from './errors.js';

/** Index of the first non-finite value, or -1. */
const firstNonFinite = (data: Float32Array): number => data.findIndex((v) => !Number.isFinite(v));

function assertFiniteState(state: StateDict): void {
  const bad = firstNonFiniteEntry(state);
  if (bad) throw new ExportError(`cannot export: ${bad}; the model would compute NaN`);
}

export function foldBatchNorm(net: Network, state: StateDict): StateDict {
  assertFiniteState(state);
  const folded: StateDict = new Map(state);
  const layers = net.layers;
  layers.forEach((layer, i) => {
    if (!(layer instanceof BatchNorm2d)) return;
    const conv = layers[i - 1];
    if (!(conv instanceof Conv2d)) throw new Error(`cannot fold ${layer.name}: it does not directly follow a conv`);
    const get = (name: string) => {
      const t = state.get(name);
      if (!t) throw new Error(`cannot fold ${layer.name}: the state has no '${name}'`);
      return t.data;
    };
    const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => get(`${layer.name}.${k}`));
    const negative = variance.findIndex((v) => v < 0);
    if (negative >= 0) {
      throw new ExportError(
        `cannot export: '${layer.name}.running_var' holds ${variance[negative]} (element ${negative}); a variance cannot be negative (folding takes its square root)`,
      );
    }
    const w = get(`${conv.name}.weight`);
    const b = get(`${conv.name}.bias`);
    const perChannel = w.length / b.length;
    const w2 = new Float32Array(w.length);
    const b2 = new Float32Array(b.length);
    for (let o = 0; o < b.length; o++) {
      const s = gamma[o] / Math.sqrt(variance[o] + layer.epsilon);
      for (let j = 0; j < perChannel; j++) w2[o * perChannel + j] = w[o * perChannel + j] * s;
      b2[o] = (b[o] - mean[o]) * s + beta[o];
    }
    // Finite inputs can still overflow float32 (a huge gamma over a tiny variance).
    for (const [name, data] of [[`${conv.name}.weight`, w2], [`${conv.name}.bias`, b2]] as const) {
      const bad = firstNonFinite(data);
      if (bad >= 0) throw new ExportError(`cannot export: folding ${layer.name} into ${conv.name} gives ${data[bad]} in '${name}' (element ${bad})`);
    }
    folded.set(`${conv.name}.weight`, { shape: state.get(`${conv.name}.weight`)!.shape, data: w2 });
    folded.set(`${conv.name}.bias`, { shape: [b.length], data: b2 });
    for (const spec of layer.state) folded.delete(spec.name);
  });
  return folded;
}
