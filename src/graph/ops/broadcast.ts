/**
 * Undoing numpy broadcasting, for the gradients of broadcasting ops (Add, Sub, Mul, Div, Where,
 * MatMul's batch dims, Expand). Defines no op of its own: a ReduceSum, and a Reshape where
 * leading axes were added. No op file imports this; their gradient rules call `op.sumTo`.
 */
import type { Tensor } from '../builder.js';
import type { Shape } from '../shape.js';
import { reshape } from './movement.js';
import { reduceSum } from './reduce.js';

/** Sums a broadcast gradient back down to `shape` (the reverse of numpy broadcasting). */
export function sumTo(dy: Tensor, shape: Shape): Tensor {
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return dy;
  const summed = reduceSum(dy, axes, true);
  return lead > 0 ? reshape(summed, shape) : summed;
}

declare module '../builder.js' {
  interface Ops {
    sumTo: typeof sumTo;
  }
}
