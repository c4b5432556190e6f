/** ScatterElements and run-time zeros: the pieces MaxPool's gradient routes values with. */
import { defineOp, emit, required, shapeError, type Tensor } from '../builder.js';
import type { DType } from '../dtype.js';
import { sameShape } from '../shape.js';
import { expand } from './reduce.js';

const ScatterElements = defineOp<{ axis: number }>({
  type: 'ScatterElements',
  since: 11,
  attrs: { axis: 'int' },
  infer: ([data, indices, updates]) => {
    const d = required(data, 'ScatterElements', 'data');
    if (!sameShape(indices!.shape, updates!.shape) || indices!.dtype !== 'int64') {
      throw shapeError('ScatterElements', 'indices and updates differ', indices, updates);
    }
    return [{ dtype: d.dtype, shape: d.shape }];
  },
});

/** out = data; out[indices[i]] = updates[i] along `axis`. */
export function scatterElements(data: Tensor, indices: Tensor, updates: Tensor, axis = 0): Tensor {
  return emit(ScatterElements, [data, indices, updates], { axis })[0];
}

/** Zeros made at run time (a broadcast scalar), so large zero tensors stay out of the file. */
export function zeros(like: Tensor, shape: readonly number[], dtype: DType = like.dtype): Tensor {
  return expand(like.graph.scalar(0, dtype), shape);
}
