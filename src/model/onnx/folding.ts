/**
 * Shape computations evaluated at import: nodes whose inputs are all known (the image's shape is
 * static, the batch stays a symbolic dim) fold into known values, so the graph that trains
 * holds only the ops on data.
 */
import type { DType } from '../../graph/dtype.js';
import { multiplyDims, normalizeAxis } from '../../graph/shape.js';
import { tensorValues, toNumber } from '../../graph/tensor-proto.js';
import { ImportError, type Known, known, type NodeP, numbers } from './values.js';

/** A Constant node's value (its `value` tensor, or one of the scalar/list forms). */
export function constantValue(node: NodeP): Known {
  const a = (node.attribute ?? [])[0];
  if (!a) throw new ImportError(`${node.opType} node '${node.name}' has no value`);
  if (a.t) return known(tensorValues(a.t));
  if (a.name === 'value_float') return { dtype: 'float32', shape: [], values: [a.f ?? 0] };
  if (a.name === 'value_floats')
    return { dtype: 'float32', shape: [(a.floats ?? []).length], values: [...(a.floats ?? [])] };
  if (a.name === 'value_int') return { dtype: 'int64', shape: [], values: [toNumber(a.i ?? 0)] };
  if (a.name === 'value_ints')
    return { dtype: 'int64', shape: [(a.ints ?? []).length], values: (a.ints ?? []).map(toNumber) };
  throw new ImportError(`${node.opType} node '${node.name}' has a ${a.name} value, which is not supported`);
}

const ARITHMETIC: Record<string, (x: number, y: number, integer: boolean) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y, integer) => (integer ? Math.trunc(x / y) : x / y),
  Pow: (x, y) => x ** y,
};

/** Numpy-style elementwise arithmetic on known values (one side a single value, or both the same length). */
export function foldBinary(type: string, a: Known, b: Known): Known {
  const f = ARITHMETIC[type];
  if (!f) throw new ImportError(`cannot fold ${type}`);
  const [big, small] = a.values.length >= b.values.length ? [a, b] : [b, a];
  if (small.values.length !== 1 && small.values.length !== big.values.length)
    throw new ImportError(`${type} of constants of shapes [${a.shape}] and [${b.shape}]`);
  const at = (k: Known, i: number) => (k.values.length === 1 ? k.values[0] : k.values[i]);
  const values = big.values.map((_, i) => {
    const [x, y] = [at(a, i), at(b, i)];
    // the batch times heads
    if (type === 'Mul' && (typeof x !== 'number' || typeof y !== 'number')) return multiplyDims(x, y);
    if (typeof x !== 'number' || typeof y !== 'number')
      throw new ImportError(`${type} on a value that depends on the batch size`);
    return f(x, y, a.dtype === 'int64');
  });
  return { dtype: a.dtype, shape: big.shape, values };
}

/** `f` over known values of one length (or a single value each), as the output of `dtype` (Equal's bool, Where's). */
export function foldElementwise(
  inputs: Known[],
  dtype: DType,
  f: (...xs: (number | string)[]) => number | string,
): Known {
  const length = Math.max(...inputs.map((k) => k.values.length));
  if (inputs.some((k) => k.values.length !== 1 && k.values.length !== length))
    throw new ImportError(`constants of shapes ${inputs.map((k) => `[${k.shape}]`).join(', ')}`);
  const shape = inputs.find((k) => k.values.length === length)?.shape ?? [];
  return {
    dtype,
    shape,
    values: Array.from({ length }, (_, i) =>
      f(...inputs.map((k) => (k.values.length === 1 ? k.values[0] : k.values[i]))),
    ),
  };
}

/** Slice of a 1-D known value (a shape vector's `[2:]`), with ONNX's clamping of starts and ends. */
export function foldSlice([data, starts, ends, axes, steps]: Known[], where: string): Known {
  if (data.shape.length !== 1 || (axes && numbers(axes, where).some((a) => a !== 0 && a !== -1)))
    throw new ImportError(`${where}: only slices of a 1-D constant are folded`);
  const n = data.values.length;
  const step = steps ? numbers(steps, where)[0] : 1;
  if (step !== 1) throw new ImportError(`${where}: only unit steps are folded`);
  const clamp = (i: number) => Math.max(0, Math.min(n, i < 0 ? i + n : i));
  const values = data.values.slice(clamp(numbers(starts, where)[0]), clamp(numbers(ends, where)[0]));
  return { dtype: data.dtype, shape: [values.length], values };
}

/** `shape` with ones inserted at `axes` (Unsqueeze). */
export function unsqueezedShape(shape: readonly number[], axes: readonly number[]): number[] {
  const rank = shape.length + axes.length;
  const at = axes.map((x) => normalizeAxis(x, rank));
  let source = 0;
  return [...Array(rank).keys()].map((i) => (at.includes(i) ? 1 : shape[source++]));
}
