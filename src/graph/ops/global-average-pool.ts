/** GlobalAveragePool: mean over H and W; its gradient spreads dy / (H*W) over the window. */
import { defineOp, emit, required, shapeError, type Tensor } from '../builder.js';
import { mul } from './arithmetic.js';
import { expand } from './movement.js';

const GlobalAveragePool = defineOp({
  type: 'GlobalAveragePool',
  since: 1,
  attrs: {},
  infer: ([x]) => {
    const X = required(x, 'GlobalAveragePool', 'X');
    if (X.rank !== 4) throw shapeError('GlobalAveragePool', 'X must be 4-D (NCHW)', X);
    return [{ dtype: X.dtype, shape: [X.shape[0], X.shape[1], 1, 1] }];
  },
  gradient: ({ inputs: [x] }, [dy]) => {
    const [, , h, w] = x!.shape as number[];
    return [expand(mul(dy!, 1 / (h * w)), x!.shape as number[])];
  },
});

export const globalAveragePool = (x: Tensor): Tensor => emit(GlobalAveragePool, [x], {})[0];
