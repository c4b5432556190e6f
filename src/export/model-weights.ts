/**
 * The weights of an exported model, read back as a state dict: what a page needs to fine-tune
 * the model it shows. An exported model is the network with BatchNorm folded, its state held
 * as initializers under state_dict names (`conv1.weight`), so its state is that of
 * `net.withBatchNormFolded()`. Runtime-neutral: bytes in, no files, no Node.
 */
import type onnxProto from 'onnx-proto';
import { onnx, parseModel } from '../graph/serialize.js';
import { numel } from '../graph/shape.js';
import type { Network, StateDict } from '../model/network.js';
import { ExpectedError } from '../util/errors.js';

/** A model whose weights are not those of the network asked for; the message names the tensor. */
export class WeightsError extends ExpectedError {}

type TensorP = onnxProto.onnx.ITensorProto;

/** Float32 values of an initializer, from `raw_data` (little-endian) or `float_data`. */
function float32Values(t: TensorP, count: number): Float32Array {
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) throw new WeightsError(`initializer '${t.name}' is not float32`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw new WeightsError(`initializer '${t.name}' keeps its data in an external file`);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== count * 4) throw new WeightsError(`initializer '${t.name}' holds ${raw.length} bytes, expected ${count * 4}`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
  }
  const values = t.floatData ?? [];
  if (values.length !== count) throw new WeightsError(`initializer '${t.name}' holds ${values.length} values, expected ${count}`);
  return Float32Array.from(values);
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
    throw new WeightsError(`not an ONNX model (${(e as Error).message.split('\n')[0]})`);
  }
  const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const state: StateDict = new Map();
  for (const spec of folded.stateSpecs) {
    const t = initializers.get(spec.name);
    if (!t) throw new WeightsError(`the model has no initializer '${spec.name}': it is not an export of ${folded.name}`);
    const dims = (t.dims ?? []).map(Number);
    if (dims.join(',') !== spec.shape.join(',')) throw new WeightsError(`initializer '${spec.name}' is [${dims.join(',')}], expected [${spec.shape.join(',')}]`);
    const data = float32Values(t, numel(spec.shape));
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new WeightsError(`initializer '${spec.name}' holds ${data[bad]} (element ${bad})`);
    state.set(spec.name, { shape: spec.shape, data });
  }
  return state;
}
