/**
 * MaxPool (no padding). The gradient routes dy to the arg-max of each window: MaxUnpool with
 * the forward's Indices output is exactly that scatter (measured 2x faster than
 * ScatterElements). An equality mask (x == upsampled max) would be cheaper but is wrong on
 * MNIST, whose flat background makes exact ties common (measured: up to 120% error);
 * Indices pick the first maximum, as PyTorch does.
 */
import { defineOp, emit, shapeError, staticShape, type Tensor } from '../builder.js';
import { constValues, int64s } from './helpers.js';

interface MaxPoolAttrs {
  kernel_shape: readonly number[];
  strides: readonly number[];
}

// Indices is left out (`outputCount: 1`) where nothing differentiates the pooling.
const MaxPool = defineOp<[X: Tensor], MaxPoolAttrs, readonly [Y: Tensor, Indices?: Tensor]>({
  type: 'MaxPool',
  since: 8,
  attrs: { kernel_shape: 'ints', strides: 'ints' },
  infer: ([X], { kernel_shape: k, strides: s }) => {
    if (X.rank !== 4) throw shapeError('MaxPool', 'X must be 4-D (NCHW)', X);
    const [n, c, h, w] = X.shape;
    if (typeof h !== 'number' || typeof w !== 'number' || h < k[0] || w < k[1]) {
      throw shapeError('MaxPool', `window [${k}] does not fit`, X);
    }
    const shape = [n, c, Math.floor((h - k[0]) / s[0]) + 1, Math.floor((w - k[1]) / s[1]) + 1];
    return [
      { dtype: X.dtype, shape },
      { dtype: 'int64', shape },
    ];
  },
  gradient: ({ inputs: [x], outputs: [, indices], attrs }, [dy]) => {
    if (!indices) throw new Error('MaxPool gradient needs the Indices output: emit it with maxPoolWithIndices');
    // Indices (int64) takes no gradient, so when one reaches this node it is Y's.
    return [dy && emit(MaxUnpool, [dy, indices, int64s(x, staticShape(x, 'MaxPool gradient'))], attrs)[0]];
  },
});

const MaxUnpool = defineOp<[X: Tensor, I: Tensor, output_shape: Tensor], MaxPoolAttrs>({
  type: 'MaxUnpool',
  since: 11,
  attrs: { kernel_shape: 'ints', strides: 'ints' },
  infer: ([x, indices, shape]) => {
    const dims = constValues(shape, 'MaxUnpool');
    if (indices.dtype !== 'int64') throw shapeError('MaxUnpool', 'indices must be int64', indices);
    return [{ dtype: x.dtype, shape: dims }];
  },
});

function attrs(kernel: number, stride: number): MaxPoolAttrs {
  return { kernel_shape: [kernel, kernel], strides: [stride, stride] };
}

/** Max over kernel x kernel windows (inference). */
export function maxPool(x: Tensor, kernel: number, stride = kernel): Tensor {
  return emit(MaxPool, [x], attrs(kernel, stride), { outputCount: 1 })[0];
}

/** Max pooling that also outputs the arg-max indices, so that it can be differentiated. */
export function maxPoolWithIndices(x: Tensor, kernel: number, stride = kernel): Tensor {
  return emit(MaxPool, [x], attrs(kernel, stride))[0];
}

declare module '../builder.js' {
  interface Ops {
    maxPool: typeof maxPool;
    maxPoolWithIndices: typeof maxPoolWithIndices;
  }
}
