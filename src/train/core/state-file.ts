/**
 * A state dict as safetensors tensors, PyTorch's way: float32 tensors by name and, for the
 * model, each BatchNorm's `num_batches_tracked` counter (int64, a scalar) beside its running
 * statistics, and shared state under each of its names (a module used twice: PyTorch's
 * state_dict lists it under both paths, and load_state_dict(strict=True) wants both). Imports
 * nothing from Node: checkpoint.ts writes `model.safetensors` with it, and the training page
 * its downloadable checkpoint.
 */
import type { Network } from '../../model/network.js';
import { firstNonFinite, type StateDict } from '../../model/state-dict.js';
import { ExpectedError } from '../../util/errors.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../util/safetensors-codec.js';

/** What checkpoints record as the file's producer. */
export const SAFETENSORS_METADATA: Readonly<Record<string, string>> = { format: 'pt', producer: 'onnx-mnist-train' };

export function toSafe(state: StateDict): Map<string, SafeTensor> {
  return new Map([...state].map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: t.data }]));
}

const COUNTER = 'num_batches_tracked';
const moduleOf = (name: string) => name.slice(0, name.lastIndexOf('.'));

/** The model's tensors of `net` as PyTorch's state_dict holds them, after `step` optimizer steps. */
function modelTensors(model: StateDict, net: Network, step: number): Map<string, SafeTensor> {
  const tensors = toSafe(model);
  for (const bn of net.batchNormPaths)
    tensors.set(`${bn}.${COUNTER}`, { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(step)) });
  for (const [alias, name] of net.aliases) {
    const t = tensors.get(name);
    if (t) tensors.set(alias, t);
    const counter = tensors.get(`${moduleOf(name)}.${COUNTER}`);
    if (name.endsWith('.running_mean') && counter) tensors.set(`${moduleOf(alias)}.${COUNTER}`, counter);
  }
  return tensors;
}

/** `model.safetensors`' bytes: what `model.load_state_dict(safetensors.torch.load_file(...))` takes. */
export function encodeModelState(model: StateDict, net: Network, step: number): Uint8Array {
  return encodeSafetensors(modelTensors(model, net, step), { ...SAFETENSORS_METADATA });
}

/**
 * Whether a state dict's key is one the network's own names leave
 * out: a BatchNorm counter, or another name of shared state.
 */
export const isExtraName = (net: Network, name: string): boolean =>
  name.endsWith(`.${COUNTER}`) || net.aliases.has(name);

/** Weights that do not fit a network: the message names the first three problems. */
class StateMismatchError extends ExpectedError {}

const shapeText = (shape: readonly number[]) => `[${shape.join(',')}]`;

/**
 * A state dict's safetensors bytes (one PyTorch saved with `safetensors.torch.save_file(model.
 * state_dict(), ...)`, or one this package wrote) as `net`'s model state, checked as PyTorch's
 * `load_state_dict(strict=True)` checks: every entry present with its shape, nothing else
 * (BatchNorm's `num_batches_tracked` counters and the other names of shared state aside). `source`
 * names the bytes in errors.
 */
export function decodeModelState(net: Network, bytes: Uint8Array, source: string): StateDict {
  const { tensors } = decodeSafetensors(bytes, source);
  const problems: string[] = [];
  const state: StateDict = new Map();
  for (const spec of net.stateSpecs) {
    const t = tensors.get(spec.name);
    if (!t) problems.push(`missing '${spec.name}'`);
    else if (t.dtype !== 'F32') problems.push(`'${spec.name}' is ${t.dtype}, expected F32`);
    else if (shapeText(t.shape) !== shapeText(spec.shape))
      problems.push(`'${spec.name}' is ${shapeText(t.shape)}, the model's ${shapeText(spec.shape)}`);
    else state.set(spec.name, { shape: spec.shape, data: t.data });
  }
  for (const name of tensors.keys()) {
    if (!state.has(name) && !isExtraName(net, name) && !net.stateSpecs.some((s) => s.name === name))
      problems.push(`unexpected '${name}'`);
  }
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (${problems.length} problems in all)` : '';
    throw new StateMismatchError(
      `${source}: the weights do not fit the model: ${problems.slice(0, 3).join('; ')}${more}`,
    );
  }
  const bad = firstNonFinite(state);
  if (bad) throw new StateMismatchError(`${source}: ${bad}`);
  return state;
}
