/** Softmax (inference output only: no gradient rule; training uses LogSoftmax + NLL). */
import { defineOp, emit, required, type Tensor } from '../builder.js';

const Softmax = defineOp<{ axis: number }>({
  type: 'Softmax',
  since: 13,
  attrs: { axis: 'int' },
  infer: ([x]) => {
    const X = required(x, 'Softmax', 'input');
    return [{ dtype: X.dtype, shape: X.shape }];
  },
});

export const softmax = (x: Tensor, axis = -1): Tensor => emit(Softmax, [x], { axis })[0];
