/**
 * Helpers several op files share: int64 constants for shape/axes inputs, and element counts.
 * Imports no op file (op files import only the builder and this; rules get the others' ops
 * passed in).
 */
import { staticDim, type Tensor } from '../builder.js';
import { numel } from '../shape.js';

export function int64s(like: Tensor, values: readonly number[]): Tensor {
  return like.graph.constant('int64', [values.length], values);
}

/** Reads a constant int64 tensor emitted by `int64s` (shape rules need the values). */
export function constValues(t: Tensor, op: string): number[] {
  const init = t.graph.initializers.get(t.name);
  if (!init) throw new Error(`${op}: the shape/axes input must be a constant`);
  if (!(init.data instanceof BigInt64Array)) throw new Error(`${op}: the shape/axes input must be int64`);
  return Array.from(init.data, Number);
}

/** How many elements of `x` a reduction over `axes` takes into each result (a mean's divisor). */
export function countOver(x: Tensor, axes: readonly number[], op: string): number {
  return numel(axes.map((a) => staticDim(x, a, op)));
}
