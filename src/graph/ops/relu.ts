/** Relu; its gradient passes dy where the output is positive: dy * sign(y), as y >= 0. */
import { defineOp, emit, type Tensor } from '../builder.js';
import { mul } from './arithmetic.js';
import { sign } from './compare.js';

const Relu = defineOp({
  type: 'Relu',
  attrs: {},
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  gradient: ({ outputs: [y] }, [dy]) => [mul(dy!, sign(y))],
});

export const relu = (x: Tensor): Tensor => emit(Relu, [x], {})[0];
