/** Comparisons and selections. They carry no gradient of their own except Where's branches. */
import { defineOp, emit, shapeError, type Tensor } from '../builder.js';
import { broadcastShapes, normalizeAxis } from '../shape.js';

function comparison(type: string) {
  return defineOp<[a: Tensor, b: Tensor]>({
    type,
    since: 11,
    attrs: {},
    infer: ([a, b]) => {
      const shape = broadcastShapes(a.shape, b.shape);
      if (!shape || a.dtype !== b.dtype) throw shapeError(type, 'operands do not broadcast', a, b);
      return [{ dtype: 'bool', shape }];
    },
  });
}

const Equal = comparison('Equal');
const Greater = comparison('Greater');

export const equal = (a: Tensor, b: Tensor): Tensor => emit(Equal, [a, b], {})[0];
export const greater = (a: Tensor, b: Tensor): Tensor => emit(Greater, [a, b], {})[0];

const Where = defineOp<[condition: Tensor, x: Tensor, y: Tensor]>({
  type: 'Where',
  since: 9,
  attrs: {},
  infer: ([c, a, b]) => {
    const shape = broadcastShapes(c.shape, a.shape, b.shape);
    if (!shape || a.dtype !== b.dtype) throw shapeError('Where', 'operands do not broadcast', c, a, b);
    return [{ dtype: a.dtype, shape }];
  },
  gradient: ({ inputs: [c, a, b] }, [dy], op) => {
    const zero = dy.graph.scalar(0, dy.dtype);
    return [undefined, op.sumTo(op.where(c, dy, zero), a.shape), op.sumTo(op.where(c, zero, dy), b.shape)];
  },
});

export const where = (cond: Tensor, a: Tensor, b: Tensor): Tensor => emit(Where, [cond, a, b], {})[0];

const ArgMax = defineOp<[data: Tensor], { axis: number; keepdims: number }>({
  type: 'ArgMax',
  since: 11,
  attrs: { axis: 'int', keepdims: 'int' },
  infer: ([x], { axis, keepdims }) => {
    const a = normalizeAxis(axis, x.rank);
    const shape = x.shape.flatMap((d, i) => (i !== a ? [d] : keepdims ? [1] : []));
    return [{ dtype: 'int64', shape }];
  },
});

/** Index of the first maximum along `axis` (int64). */
export const argMax = (x: Tensor, axis: number): Tensor => emit(ArgMax, [x], { axis, keepdims: 0 })[0];

declare module '../builder.js' {
  interface Ops {
    equal: typeof equal;
    greater: typeof greater;
    where: typeof where;
    argMax: typeof argMax;
  }
}
