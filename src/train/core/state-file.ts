/**
 * A state dict as safetensors tensors, PyTorch's way: float32 tensors by name and, for the
 * model, each BatchNorm's `num_batches_tracked` counter (int64, a scalar) beside its running
 * statistics. Imports nothing from Node: checkpoint.ts writes `model.safetensors` with it,
 * and the training page its downloadable checkpoint.
 */
import { firstNonFinite, type Network, type StateDict } from '../../model/network.js';
import { ExpectedError } from '../../util/errors.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../util/safetensors-codec.js';

/** What checkpoints record as the file's producer. */
export const SAFETENSORS_METADATA: Readonly<Record<string, string>> = { format: 'pt', producer: 'onnx-mnist-train' };

export function toSafe(state: StateDict): Map<string, SafeTensor> {
  return new Map([...state].map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: t.data }]));
}

/** The names of `net`'s BatchNorm layers (each gets a `num_batches_tracked`). */
export const batchNormNames = (net: Network): string[] => net.batchNormPaths;

/** The model's tensors as PyTorch's state_dict holds them, after `step` optimizer steps. */
export function modelTensors(model: StateDict, batchNorms: readonly string[], step: number): Map<string, SafeTensor> {
  const tensors = toSafe(model);
  for (const bn of batchNorms) tensors.set(`${bn}.num_batches_tracked`, { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(step)) });
  return tensors;
}

/** `model.safetensors`' bytes: what `model.load_state_dict(safetensors.torch.load_file(...))` takes. */
export function encodeModelState(model: StateDict, batchNorms: readonly string[], step: number): Uint8Array {
  return encodeSafetensors(modelTensors(model, batchNorms, step), { ...SAFETENSORS_METADATA });
}

/** Weights that do not fit a network: the message names the first three problems. */
export class StateMismatchError extends ExpectedError {}

const shapeText = (shape: readonly number[]) => `[${shape.join(',')}]`;

/**
 * A state dict's safetensors bytes (one PyTorch saved with `safetensors.torch.save_file(model.
 * state_dict(), ...)`, or one this package wrote) as `net`'s model state, checked as PyTorch's
 * `load_state_dict(strict=True)` checks: every entry present with its shape, nothing else
 * (BatchNorm's `num_batches_tracked` counters aside). `source` names the bytes in errors.
 */
export function decodeModelState(net: Network, bytes: Uint8Array, source: string): StateDict {
  const { tensors } = decodeSafetensors(bytes, source);
  const problems: string[] = [];
  const state: StateDict = new Map();
  for (const spec of net.stateSpecs) {
    const t = tensors.get(spec.name);
    if (!t) problems.push(`missing '${spec.name}'`);
    else if (t.dtype !== 'F32') problems.push(`'${spec.name}' is ${t.dtype}, expected F32`);
    else if (shapeText(t.shape) !== shapeText(spec.shape)) problems.push(`'${spec.name}' is ${shapeText(t.shape)}, the model's ${shapeText(spec.shape)}`);
    else state.set(spec.name, { shape: spec.shape, data: t.data });
  }
  const counters = new Set(net.batchNormPaths.map((p) => `${p}.num_batches_tracked`));
  for (const name of tensors.keys())
    if (!state.has(name) && !counters.has(name) && !net.stateSpecs.some((s) => s.name === name)) problems.push(`unexpected '${name}'`);
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (${problems.length} problems in all)` : '';
    throw new StateMismatchError(`${source}: the weights do not fit the model: ${problems.slice(0, 3).join('; ')}${more}`);
  }
  const bad = firstNonFinite(state);
  if (bad) throw new StateMismatchError(`${source}: ${bad}`);
  return state;
}
