/** Softmax (inference output only: no gradient rule; training uses LogSoftmax + NLL). */
import { defineOp, emit, sameAsInput, type Tensor } from '../builder.js';

const Softmax = defineOp<[input: Tensor], { axis: number }>({
  type: 'Softmax',
  since: 13,
  attrs: { axis: 'int' },
  infer: sameAsInput,
});

export const softmax = (x: Tensor, axis = -1): Tensor => emit(Softmax, [x], { axis })[0];

declare module '../builder.js' {
  interface Ops {
    softmax: typeof softmax;
  }
}
