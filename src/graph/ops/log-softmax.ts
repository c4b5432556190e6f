/** LogSoftmax: y = x - log(sum(exp(x))); dx = dy - softmax(x) * sum(dy), with softmax = exp(y). */
import { defineOp, emit, sameAsInput, type Tensor } from '../builder.js';

const LogSoftmax = defineOp<[input: Tensor], { axis: number }>({
  type: 'LogSoftmax',
  since: 13,
  attrs: { axis: 'int' },
  infer: sameAsInput,
  gradient: ({ outputs: [y], attrs: { axis } }, [dy], op) => [
    op.sub(dy, op.mul(op.exp(y), op.reduceSum(dy, [axis], true))),
  ],
});

export const logSoftmax = (x: Tensor, axis = -1): Tensor => emit(LogSoftmax, [x], { axis })[0];

declare module '../builder.js' {
  interface Ops {
    logSoftmax: typeof logSoftmax;
  }
}
