/** GlobalAveragePool: mean over H and W; its gradient spreads dy / (H*W) over the window. */
import { defineOp, emit, shapeError, staticShape, type Tensor } from '../builder.js';
import { countOver } from './helpers.js';

const GlobalAveragePool = defineOp<[X: Tensor]>({
  type: 'GlobalAveragePool',
  since: 1,
  attrs: {},
  infer: ([x]) => {
    if (x.rank !== 4) throw shapeError('GlobalAveragePool', 'X must be 4-D (NCHW)', x);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], 1, 1] }];
  },
  gradient: ({ inputs: [x] }, [dy], op) => {
    const name = 'GlobalAveragePool gradient';
    return [op.expand(op.mul(dy, 1 / countOver(x, [2, 3], name)), staticShape(x, name))];
  },
});

export const globalAveragePool = (x: Tensor): Tensor => emit(GlobalAveragePool, [x], {})[0];

declare module '../builder.js' {
  interface Ops {
    globalAveragePool: typeof globalAveragePool;
  }
}
