/**
 * ReduceSum (opset 18: axes is an input) and its dual, Expand: the gradient of a sum is the
 * gradient expanded back, that of Expand a sum. `sumTo` undoes numpy broadcasting.
 */
import { defineOp, emit, required, shapeError, type Tensor } from '../builder.js';
import { broadcastShapes, type Dim, normalizeAxis, type Shape } from '../shape.js';
import { constValues, int64s, reshape } from './shape.js';

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

const Expand = defineOp({
  type: 'Expand',
  since: 8,
  attrs: {},
  infer: ([x, shape]) => {
    const t = required(x, 'Expand', 'input');
    const target = constValues(shape, 'Expand');
    const out = broadcastShapes(t.shape, target);
    if (!out) throw shapeError('Expand', `cannot expand to [${target}]`, t);
    return [{ dtype: t.dtype, shape: out }];
  },
  gradient: ({ inputs: [x] }, [dy]) => [sumTo(dy!, x!.shape)],
});

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  return emit(Expand, [x, int64s(x, shape)], {})[0];
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
