/**
 * What the importer carries between nodes: a graph tensor, or a value known at import (an
 * int64 shape or index vector, a small float constant) that shape computations fold.
 */
import type onnxProto from 'onnx-proto';
import type { Tensor } from '../../graph/builder.js';
import type { AnyTypedArray, DType } from '../../graph/dtype.js';
import * as op from '../../graph/ops/index.js';
import type { Dim } from '../../graph/shape.js';
import { type TensorValues, toNumber } from '../../graph/tensor-proto.js';
import { ExpectedError } from '../../util/errors.js';

export type NodeP = onnxProto.onnx.INodeProto;

/** An ONNX model that cannot be imported; the message says why (the caller names the file). */
export class ImportError extends ExpectedError {}

/** A value known at import. Symbolic dims (the batch) appear as their name. */
export interface Known {
  dtype: DType;
  shape: number[];
  values: (number | string)[];
  /**
   * A constant of a symbolic shape (ConstantOfShape of [1, N, H]: an LSTM's initial state): every
   * value is values[0], and it becomes a tensor expanded to this shape at run time.
   */
  filled?: Dim[];
}

export type Value = Tensor | Known;
export const isKnown = (v: Value): v is Known => !(v && typeof (v as Tensor).graph === 'object');

/** An initializer's or a Constant's tensor as a known value. */
export function known(v: TensorValues): Known {
  const values =
    v.data instanceof BigInt64Array
      ? Array.from(v.data, Number)
      : Array.from(v.data as Exclude<AnyTypedArray, BigInt64Array>);
  return { dtype: v.dtype, shape: v.dims, values };
}

/** A known value's numbers; `what` names the node when one is the batch size, which is not fixed. */
export function numbers(k: Known, what: string): number[] {
  const values: number[] = [];
  for (const v of k.values) {
    if (typeof v !== 'number') throw new ImportError(`${what} depends on the batch size, which is not fixed`);
    values.push(v);
  }
  return values;
}

/** A graph tensor for a value: known constants become graph constants of `like`'s graph. */
export function tensorOf(v: Value, like: Tensor, what: string): Tensor {
  if (!isKnown(v)) return v;
  const dtype = v.dtype === 'float64' ? like.dtype : v.dtype;
  const values = numbers(v, `${what}: a value used as data`);
  return v.filled
    ? op.expand(like.graph.constant(dtype, [], values), v.filled)
    : like.graph.constant(dtype, v.shape, values);
}

/** The ONNX element type `to` (Cast's attribute) as this project's dtype: int64 or float32. */
export const castTarget = (to: number): DType => (to === 7 ? 'int64' : 'float32');

export { toNumber };
