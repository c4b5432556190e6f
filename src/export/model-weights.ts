/**
 * The weights of an exported model, read back as a state dict: what a page needs to fine-tune
 * the model it shows. An exported model is the network with BatchNorm folded, its state held
 * as initializers under state_dict names (`conv1.weight`), so its state is that of
 * `net.withBatchNormFolded()`. Runtime-neutral: bytes in, no files, no Node.
 */
import type onnxProto from 'onnx-proto';
import { parseModel } from '../graph/serialize.js';
import { TensorDataError, type TensorValues, tensorValues } from '../graph/tensor-proto.js';
import { numel } from '../graph/shape.js';
import type { Network } from '../model/network.js';
import type { StateDict } from '../model/state-dict.js';
import { ExpectedError, messageOf } from '../util/errors.js';
import { floatData } from '../util/tensor-data.js';

/** A model whose weights are not those of the network asked for; the message names the tensor. */
export class WeightsError extends ExpectedError {}

/** Float32 values of an initializer, checked for type, location and count. */
function float32Values(t: onnxProto.onnx.ITensorProto, count: number): Float32Array {
  let values: TensorValues;
  try {
    values = tensorValues(t);
  } catch (e) {
    if (e instanceof TensorDataError) throw new WeightsError(e.message.replace(/^tensor/, 'initializer'));
    throw e;
  }
  if (values.dtype !== 'float32') throw new WeightsError(`initializer '${t.name}' is not float32`);
  if (values.data.length !== count)
    throw new WeightsError(`initializer '${t.name}' holds ${values.data.length} values, expected ${count}`);
  return floatData(values);
}

/**
 * The state of `folded` (a `withBatchNormFolded()` network) held by an exported model's bytes,
 * every entry checked for its name, shape, type and finiteness.
 */
export function foldedStateFromModel(bytes: Uint8Array, folded: Network): StateDict {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = parseModel(bytes);
  } catch (e) {
    throw new WeightsError(`not an ONNX model (${messageOf(e).split('\n')[0]})`);
  }
  const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const state: StateDict = new Map();
  for (const spec of folded.stateSpecs) {
    const t = initializers.get(spec.name);
    if (!t)
      throw new WeightsError(`the model has no initializer '${spec.name}': it is not an export of ${folded.name}`);
    const dims = (t.dims ?? []).map(Number);
    if (dims.join(',') !== spec.shape.join(','))
      throw new WeightsError(`initializer '${spec.name}' is [${dims.join(',')}], expected [${spec.shape.join(',')}]`);
    const data = float32Values(t, numel(spec.shape));
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new WeightsError(`initializer '${spec.name}' holds ${data[bad]} (element ${bad})`);
    state.set(spec.name, { shape: spec.shape, data });
  }
  return state;
}
