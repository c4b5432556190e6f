/** GlobalAveragePool: mean over H and W; its gradient spreads dy / (H*W) over the window. */
import { defineOp, emit, shapeError, staticShape, type Tensor } from '../builder.js';
import { mul } from './arithmetic.js';
import { expand } from './movement.js';
import { countOver } from './reduce.js';

const GlobalAveragePool = defineOp<[X: Tensor]>({
  type: 'GlobalAveragePool',
  since: 1,
  attrs: {},
  infer: ([x]) => {
    if (x.rank !== 4) throw shapeError('GlobalAveragePool', 'X must be 4-D (NCHW)', x);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], 1, 1] }];
  },
  gradient: ({ inputs: [x] }, [dy]) => {
    const op = 'GlobalAveragePool gradient';
    return [expand(mul(dy, 1 / countOver(x, [2, 3], op)), staticShape(x, op))];
  },
});

export const globalAveragePool = (x: Tensor): Tensor => emit(GlobalAveragePool, [x], {})[0];
