/**
 * Reductions (axes are an input): ReduceSum, ReduceMean. The gradient of a reduction is the
 * gradient expanded back over the reduced axes (Expand's gradient is, in turn, a sum: `sumTo`,
 * which also undoes numpy broadcasting).
 */
import { defineOp, emit, required, shapeError, type Tensor } from '../builder.js';
import { type Dim, normalizeAxis, type Shape } from '../shape.js';
import { mul } from './arithmetic.js';
import { constValues, expand, int64s, reshape } from './movement.js';

export interface ReduceAttrs {
  keepdims: number;
  [key: string]: number;
}

export function reducedShape(x: Tensor, axes: readonly number[], keepdims: boolean, op: string): Dim[] {
  const ax = axes.map((a) => normalizeAxis(a, x.rank));
  if (new Set(ax).size !== ax.length) throw shapeError(op, `repeated axes [${axes}]`, x);
  const out: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!ax.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** Gradient of a reduction: reshape dy to the keepdims shape, then broadcast to x. */
export function expandBack(x: Tensor, axesInput: Tensor | undefined, dy: Tensor): Tensor {
  const kept = reducedShape(x, constValues(axesInput, 'Reduce'), true, 'Reduce');
  return expand(reshape(dy, kept), x.shape as readonly number[]);
}

const ReduceSum = defineOp<ReduceAttrs>({
  type: 'ReduceSum',
  since: 13,
  attrs: { keepdims: 'int' },
  infer: ([x, axes], { keepdims }) => {
    const t = required(x, 'ReduceSum', 'data');
    return [{ dtype: t.dtype, shape: reducedShape(t, constValues(axes, 'ReduceSum'), keepdims === 1, 'ReduceSum') }];
  },
  gradient: ({ inputs: [x, axes] }, [dy]) => [expandBack(x!, axes, dy!)],
});

export function reduceSum(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return emit(ReduceSum, [x, int64s(x, axes)], { keepdims: keepdims ? 1 : 0 })[0];
}

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

// ReduceMean: a sum divided by the count; its gradient spreads dy/count over the inputs.
function count(x: Tensor, axes: readonly number[]): number {
  return axes.reduce((n, a) => {
    const d = x.shape[normalizeAxis(a, x.rank)];
    if (typeof d !== 'number') throw shapeError('ReduceMean', 'gradient over a symbolic axis', x);
    return n * d;
  }, 1);
}

const ReduceMean = defineOp<ReduceAttrs>({
  type: 'ReduceMean',
  since: 18,
  attrs: { keepdims: 'int' },
  infer: ([x, axes], { keepdims }) => {
    const t = required(x, 'ReduceMean', 'data');
    return [{ dtype: t.dtype, shape: reducedShape(t, constValues(axes, 'ReduceMean'), keepdims === 1, 'ReduceMean') }];
  },
  gradient: ({ inputs: [x, axes] }, [dy]) => {
    const n = count(x!, constValues(axes, 'ReduceMean'));
    return [expandBack(x!, axes, mul(dy!, 1 / n))];
  },
});

export function reduceMean(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return emit(ReduceMean, [x, int64s(x, axes)], { keepdims: keepdims ? 1 : 0 })[0];
}
