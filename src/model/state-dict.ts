/**
 * A network's state as PyTorch's state_dict holds it: tensors by name (`conv1.weight`,
 * `bn1.running_var`) in the network's order, float32. What checkpoints, exports and the
 * trainer pass around; network.ts names the entries, this module holds their values.
 */

/** One tensor of a state_dict: float32 values and their shape. */
export interface StateTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** PyTorch-style state_dict: `conv1.weight` -> tensor, in the network's order. */
export type StateDict = Map<string, StateTensor>;

/** A copy of a state that shares no data with it (a snapshot that later steps cannot change). */
export const copyState = (state: StateDict): StateDict =>
  new Map([...state].map(([name, t]) => [name, { shape: t.shape, data: t.data.slice() }]));

/** The first non-finite value of a state, as `'name' holds NaN (element i)`, or undefined if all are finite. */
export function firstNonFinite(state: StateDict): string | undefined {
  for (const [name, t] of state) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) return `'${name}' holds ${t.data[i]} (element ${i})`;
  }
  return undefined;
}
