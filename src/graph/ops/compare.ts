/** Comparisons and selections. They carry no gradient of their own except Where's branches. */
import { defineOp, emit, required, shapeError, type Tensor } from '../builder.js';
import { broadcastShapes, normalizeAxis } from '../shape.js';
import { sumTo } from './reduce.js';

function comparison(type: string) {
  return defineOp({
    type,
    since: 11,
    attrs: {},
    infer: ([a, b]) => {
      const x = required(a, type, 'A');
      const y = required(b, type, 'B');
      const shape = broadcastShapes(x.shape, y.shape);
      if (!shape || x.dtype !== y.dtype) throw shapeError(type, 'operands do not broadcast', x, y);
      return [{ dtype: 'bool', shape }];
    },
  });
}

const Equal = comparison('Equal');
const Greater = comparison('Greater');

export const equal = (a: Tensor, b: Tensor): Tensor => emit(Equal, [a, b], {})[0];
export const greater = (a: Tensor, b: Tensor): Tensor => emit(Greater, [a, b], {})[0];

const Where = defineOp({
  type: 'Where',
  since: 9,
  attrs: {},
  infer: ([c, a, b]) => {
    const shape = broadcastShapes(c!.shape, a!.shape, b!.shape);
    if (!shape || a!.dtype !== b!.dtype) throw shapeError('Where', 'operands do not broadcast', c, a, b);
    return [{ dtype: a!.dtype, shape }];
  },
  gradient: ({ inputs: [c, a, b] }, [dy]) => {
    const zero = dy!.graph.scalar(0, dy!.dtype);
    return [undefined, sumTo(where(c!, dy!, zero), a!.shape), sumTo(where(c!, zero, dy!), b!.shape)];
  },
});

export const where = (cond: Tensor, a: Tensor, b: Tensor): Tensor => emit(Where, [cond, a, b], {})[0];

const ArgMax = defineOp<{ axis: number; keepdims: number }>({
  type: 'ArgMax',
  since: 11,
  attrs: { axis: 'int', keepdims: 'int' },
  infer: ([x], { axis, keepdims }) => {
    const t = required(x, 'ArgMax', 'data');
    const a = normalizeAxis(axis, t.rank);
    const shape = t.shape.flatMap((d, i) => (i !== a ? [d] : keepdims ? [1] : []));
    return [{ dtype: 'int64', shape }];
  },
});

/** Index of the first maximum along `axis` (int64). */
export const argMax = (x: Tensor, axis: number): Tensor => emit(ArgMax, [x], { axis, keepdims: 0 })[0];
