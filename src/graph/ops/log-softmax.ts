/** LogSoftmax: y = x - log(sum(exp(x))); dx = dy - softmax(x) * sum(dy), with softmax = exp(y). */
import { defineOp, emit, required, type Tensor } from '../builder.js';
import { exp, mul, sub } from './arithmetic.js';
import { reduceSum } from './reduce.js';

const LogSoftmax = defineOp<{ axis: number }>({
  type: 'LogSoftmax',
  since: 13,
  attrs: { axis: 'int' },
  infer: ([x]) => {
    const X = required(x, 'LogSoftmax', 'input');
    return [{ dtype: X.dtype, shape: X.shape }];
  },
  gradient: ({ outputs: [y], attrs: { axis } }, [dy]) => [sub(dy!, mul(exp(y), reduceSum(dy!, [axis], true)))],
});

export const logSoftmax = (x: Tensor, axis = -1): Tensor => emit(LogSoftmax, [x], { axis })[0];
