/** Softmax: y = exp(x) / sum(exp(x)); dx = y * (dy - sum(dy * y)) along the axis. */
import { defineOp, emit, sameAsInput, type Tensor } from '../builder.js';

const Softmax = defineOp<[input: Tensor], { axis: number }>({
  type: 'Softmax',
  since: 13,
  attrs: { axis: 'int' },
  infer: sameAsInput,
  gradient: ({ outputs: [y], attrs: { axis } }, [dy], op) => [
    op.mul(y, op.sub(dy, op.reduceSum(op.mul(dy, y), [axis], true))),
  ],
});

export const softmax = (x: Tensor, axis = -1): Tensor => emit(Softmax, [x], { axis })[0];

declare module '../builder.js' {
  interface Ops {
    softmax: typeof softmax;
  }
}
