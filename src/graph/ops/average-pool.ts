/**
 * AveragePool: the mean over each window. Its gradient spreads dy / (window count) back over
 * the window: a ConvTranspose with a ones kernel, one group per channel (the adjoint of the
 * pooling, which is a depthwise conv with kernel 1/count), taking the forward's strides and
 * pads. With padding and count_include_pad 0 (ONNX's default) the count differs at the
 * borders; it is a constant of the static shapes, computed here.
 */
import { defineOp, emit, type Ops, shapeError, staticDim, staticShape, type Tensor } from '../builder.js';

interface AveragePoolAttrs {
  kernel_shape: readonly number[];
  strides: readonly number[];
  pads: readonly number[];
  count_include_pad: number;
}

/** How many cells of the unpadded input each output position averages: [OH*OW], row-major. */
function windowCounts(
  h: number,
  w: number,
  oh: number,
  ow: number,
  { kernel_shape: k, strides: s, pads: p }: AveragePoolAttrs,
): number[] {
  const inside = (start: number, size: number, kernel: number) => Math.min(start + kernel, size) - Math.max(start, 0);
  const counts: number[] = [];
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++) counts.push(inside(i * s[0] - p[0], h, k[0]) * inside(j * s[1] - p[1], w, k[1]));
  return counts;
}

function averagePoolGrad(op: Ops, x: Tensor, dy: Tensor, attrs: AveragePoolAttrs): Tensor {
  const [, c, h, w] = staticShape(x, 'AveragePool gradient');
  const [, , oh, ow] = staticShape(dy, 'AveragePool gradient');
  const [kh, kw] = attrs.kernel_shape;
  const padded = attrs.pads.some((p) => p !== 0);
  const scaled =
    attrs.count_include_pad || !padded
      ? op.mul(dy, 1 / (kh * kw))
      : op.div(dy, x.graph.constant(x.dtype, [1, 1, oh, ow], windowCounts(h, w, oh, ow, attrs)));
  const kernel = x.graph.constant(x.dtype, [c, 1, kh, kw], new Array<number>(c * kh * kw).fill(1));
  return op.convTranspose(scaled, kernel, x, {
    kernel_shape: attrs.kernel_shape,
    pads: attrs.pads,
    strides: attrs.strides,
    group: c,
  });
}

const AveragePool = defineOp<[X: Tensor], AveragePoolAttrs>({
  type: 'AveragePool',
  since: 11,
  attrs: { kernel_shape: 'ints', strides: 'ints', pads: 'ints', count_include_pad: 'int' },
  infer: ([X], { kernel_shape: k, strides: s, pads: p }) => {
    if (X.rank !== 4) throw shapeError('AveragePool', 'X must be 4-D (NCHW)', X);
    const [n, c] = X.shape;
    const h = staticDim(X, 2, 'AveragePool');
    const w = staticDim(X, 3, 'AveragePool');
    if (h + p[0] + p[2] < k[0] || w + p[1] + p[3] < k[1])
      throw shapeError('AveragePool', `window [${k}] does not fit`, X);
    const shape = [
      n,
      c,
      Math.floor((h + p[0] + p[2] - k[0]) / s[0]) + 1,
      Math.floor((w + p[1] + p[3] - k[1]) / s[1]) + 1,
    ];
    return [{ dtype: X.dtype, shape }];
  },
  gradient: ({ inputs: [x], attrs }, [dy], op) => [averagePoolGrad(op, x, dy, attrs)],
});

export interface AveragePoolOptions {
  /** Window step (default: the kernel). */
  strides?: readonly number[];
  /** [top, left, bottom, right] (default none). */
  pads?: readonly number[];
  /** Count padded cells in the divisor (PyTorch's default; ONNX's is not to). */
  countIncludePad?: boolean;
}

/** Mean over kernel windows; `kernel` is [kh, kw]. */
export function averagePool(
  x: Tensor,
  kernel: readonly number[],
  { strides = kernel, pads = [0, 0, 0, 0], countIncludePad = false }: AveragePoolOptions = {},
): Tensor {
  return emit(AveragePool, [x], { kernel_shape: kernel, strides, pads, count_include_pad: countIncludePad ? 1 : 0 })[0];
}

declare module '../builder.js' {
  interface Ops {
    averagePool: typeof averagePool;
  }
}
