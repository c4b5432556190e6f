/**
 * A state dict as safetensors tensors, PyTorch's way: float32 tensors by name and, for the
 * model, each BatchNorm's `num_batches_tracked` counter (int64, a scalar) beside its running
 * statistics. Imports nothing from Node: checkpoint.ts writes `model.safetensors` with it,
 * and the training page its downloadable checkpoint.
 */
import type { Network, StateDict } from '../../model/network.js';
import { encodeSafetensors, type SafeTensor } from '../../util/safetensors-codec.js';

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
