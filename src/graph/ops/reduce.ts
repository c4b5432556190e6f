/**
 * Reductions (axes are an input): ReduceSum, ReduceMean. The gradient of a reduction is the
 * gradient expanded back over the reduced axes (Expand's gradient is, in turn, a sum: `sumTo`
 * in broadcast.ts, which also undoes numpy broadcasting).
 */
import { defineOp, emit, type Ops, type OutputSpec, shapeError, staticShape, type Tensor } from '../builder.js';
import { type Dim, normalizeAxis } from '../shape.js';
import { constValues, countOver, int64s } from './helpers.js';

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

/** Gradient of a reduction: reshape dy to the keepdims shape, then broadcast to x. */
function expandBack(op: Ops, x: Tensor, axes: Tensor, dy: Tensor): Tensor {
  const kept = reducedShape(x, constValues(axes, 'Reduce'), true, 'Reduce');
  return op.expand(op.reshape(dy, kept), staticShape(x, 'Reduce'));
}

const ReduceSum = defineOp<ReduceInputs, ReduceAttrs>({
  type: 'ReduceSum',
  since: 13,
  attrs: { keepdims: 'int' },
  infer: reduceRule('ReduceSum'),
  gradient: ({ inputs: [x, axes] }, [dy], op) => [expandBack(op, x, axes, dy)],
});

export function reduceSum(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return emit(ReduceSum, [x, int64s(x, axes)], { keepdims: keepdims ? 1 : 0 })[0];
}

// ReduceMean: a sum divided by the count; its gradient spreads dy/count over the inputs.
const ReduceMean = defineOp<ReduceInputs, ReduceAttrs>({
  type: 'ReduceMean',
  since: 18,
  attrs: { keepdims: 'int' },
  infer: reduceRule('ReduceMean'),
  gradient: ({ inputs: [x, axes] }, [dy], op) => {
    const count = countOver(x, constValues(axes, 'ReduceMean'), 'ReduceMean gradient');
    return [expandBack(op, x, axes, op.mul(dy, 1 / count))];
  },
});

export function reduceMean(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return emit(ReduceMean, [x, int64s(x, axes)], { keepdims: keepdims ? 1 : 0 })[0];
}

declare module '../builder.js' {
  interface Ops {
    reduceSum: typeof reduceSum;
    reduceMean: typeof reduceMean;
  }
}
