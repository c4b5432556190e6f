/**
 * Relu; its gradient passes dy where the output is positive: dy * float(y > 0). (Measured:
 * Greater + Cast + Mul beats Sign + Mul, ORT's Sign kernel not being vectorised.)
 */
import { defineOp, emit, sameAsInput, type Tensor } from '../builder.js';

const Relu = defineOp<[x: Tensor]>({
  type: 'Relu',
  since: 6,
  attrs: {},
  infer: sameAsInput,
  gradient: ({ outputs: [y] }, [dy], op) => [op.mul(dy, op.cast(op.greater(y, y.graph.scalar(0, y.dtype)), y.dtype))],
});

export const relu = (x: Tensor): Tensor => emit(Relu, [x], {})[0];

declare module '../builder.js' {
  interface Ops {
    relu: typeof relu;
  }
}
