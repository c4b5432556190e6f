/** ReduceMean: a sum divided by the count; its gradient spreads dy/count over the inputs. */
import { defineOp, emit, required, shapeError, type Tensor } from '../builder.js';
import { normalizeAxis } from '../shape.js';
import { mul } from './arithmetic.js';
import { expandBack, type ReduceAttrs, reducedShape } from './reduce.js';
import { constValues, int64s } from './shape.js';

function count(x: Tensor, axes: readonly number[]): number {
  return axes.reduce((n, a) => {
    const d = x.shape[normalizeAxis(a, x.rank)];
    if (typeof d !== 'number') throw shapeError('ReduceMean', 'gradient over a symbolic axis', x);
    return n * d;
  }, 1);
}

const ReduceMean = defineOp<ReduceAttrs>({
  type: 'ReduceMean',
  since: 18,
  attrs: { keepdims: 'int' },
  infer: ([x, axes], { keepdims }) => {
    const t = required(x, 'ReduceMean', 'data');
    return [{ dtype: t.dtype, shape: reducedShape(t, constValues(axes, 'ReduceMean'), keepdims === 1, 'ReduceMean') }];
  },
  gradient: ({ inputs: [x, axes] }, [dy]) => {
    const n = count(x!, constValues(axes, 'ReduceMean'));
    return [expandBack(x!, axes, mul(dy!, 1 / n))];
  },
});

export function reduceMean(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return emit(ReduceMean, [x, int64s(x, axes)], { keepdims: keepdims ? 1 : 0 })[0];
}
