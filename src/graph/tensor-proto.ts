/**
 * The values of an ONNX TensorProto (an initializer, a Constant's value) as a typed array:
 * from `raw_data` (little-endian) or from the typed fields, for the element types a model
 * exported by PyTorch holds. Runtime-neutral: no files, no Node.
 */
import type onnxProto from 'onnx-proto';
import type { AnyTypedArray, DType } from './dtype.js';
import { dtypeFromOnnx } from './dtype.js';
import { onnx } from './serialize.js';

type TensorP = onnxProto.onnx.ITensorProto;

/** A protobuf int64 (a number, or a Long that protobufjs makes for large values) as a number. */
export const toNumber = (v: number | { toString(): string }): number =>
  typeof v === 'number' ? v : Number(v.toString());

export interface TensorValues {
  dtype: DType;
  dims: number[];
  data: AnyTypedArray;
}

/** A tensor that cannot be read here; the message names it. */
export class TensorDataError extends Error {}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

function fromRaw(dtype: DType, raw: Uint8Array, count: number, name: string): AnyTypedArray {
  const size = BYTES[dtype];
  if (raw.length !== count * size)
    throw new TensorDataError(`tensor '${name}' holds ${raw.length} bytes, expected ${count * size}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case 'float32':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
    case 'float64':
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
    case 'int64':
      return BigInt64Array.from({ length: count }, (_, i) => view.getBigInt64(8 * i, true));
    case 'int32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
    case 'uint8':
    case 'bool':
      return Uint8Array.from(raw);
  }
}

/** Reads a tensor's values; throws a TensorDataError for external data, another element type or a wrong count. */
export function tensorValues(t: TensorP): TensorValues {
  const name = t.name ?? '';
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    throw new TensorDataError(`tensor '${name}' keeps its data in an external file`);
  let dtype: DType;
  try {
    dtype = dtypeFromOnnx(t.dataType ?? 0);
  } catch {
    throw new TensorDataError(`tensor '${name}' has element type ${t.dataType}, which is not supported`);
  }
  const dims = (t.dims ?? []).map(toNumber);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData;
  let data: AnyTypedArray;
  if (raw && raw.length > 0) data = fromRaw(dtype, raw, count, name);
  else if (dtype === 'float32') data = Float32Array.from(t.floatData ?? []);
  else if (dtype === 'float64') data = Float64Array.from(t.doubleData ?? []);
  else if (dtype === 'int64') data = BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(toNumber(v))));
  else data = dtype === 'int32' ? Int32Array.from(t.int32Data ?? []) : Uint8Array.from(t.int32Data ?? []);
  if (data.length !== count)
    throw new TensorDataError(`tensor '${name}' holds ${data.length} values, expected ${count}`);
  return { dtype, dims, data };
}
