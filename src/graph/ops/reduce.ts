/**
 * Reductions (axes are an input): ReduceSum, ReduceMean. The gradient of a reduction is the
 * gradient expanded back over the reduced axes (Expand's gradient is, in turn, a sum: `sumTo`,
 * which also undoes numpy broadcasting).
 */
import { defineOp, emit, type OutputSpec, shapeError, staticDim, staticShape, type Tensor } from '../builder.js';
import { type Dim, normalizeAxis, numel, type Shape } from '../shape.js';
import { mul } from './arithmetic.js';
import { constValues, expand, int64s, reshape } from './movement.js';

type ReduceInputs = [data: Tensor, axes: Tensor];
interface ReduceAttrs {
  keepdims: number;
}

function reducedShape(x: Tensor, axes: readonly number[], keepdims: boolean, op: string): Dim[] {
  const ax = axes.map((a) => normalizeAxis(a, x.rank));
  if (new Set(ax).size !== ax.length) throw shapeError(op, `repeated axes [${axes}]`, x);
  const out: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!ax.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** The shape rule of a reduction `op`. */
function reduceRule(op: string) {
  return ([x, axes]: ReduceInputs, { keepdims }: ReduceAttrs): [OutputSpec] => [
    { dtype: x.dtype, shape: reducedShape(x, constValues(axes, op), keepdims === 1, op) },
  ];
}

/** How many elements of `x` a reduction over `axes` takes into each result (a mean's divisor). */
export function countOver(x: Tensor, axes: readonly number[], op: string): number {
  return numel(axes.map((a) => staticDim(x, a, op)));
}

/** Gradient of a reduction: reshape dy to the keepdims shape, then broadcast to x. */
function expandBack(x: Tensor, axes: Tensor, dy: Tensor): Tensor {
  const kept = reducedShape(x, constValues(axes, 'Reduce'), true, 'Reduce');
  return expand(reshape(dy, kept), staticShape(x, 'Reduce'));
}

const ReduceSum = defineOp<ReduceInputs, ReduceAttrs>({
  type: 'ReduceSum',
  since: 13,
  attrs: { keepdims: 'int' },
  infer: reduceRule('ReduceSum'),
  gradient: ({ inputs: [x, axes] }, [dy]) => [expandBack(x, axes, dy)],
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
const ReduceMean = defineOp<ReduceInputs, ReduceAttrs>({
  type: 'ReduceMean',
  since: 18,
  attrs: { keepdims: 'int' },
  infer: reduceRule('ReduceMean'),
  gradient: ({ inputs: [x, axes] }, [dy]) => {
    const count = countOver(x, constValues(axes, 'ReduceMean'), 'ReduceMean gradient');
    return [expandBack(x, axes, mul(dy, 1 / count))];
  },
});

export function reduceMean(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return emit(ReduceMean, [x, int64s(x, axes)], { keepdims: keepdims ? 1 : 0 })[0];
}
