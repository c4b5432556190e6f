/**
 * 2-D convolution (NCHW) and its gradient (stride 1, no dilation, one group: all this
 * network uses). ORT has no ConvGrad kernel, so the gradient is built from standard ops:
 *  - dX: a Conv of dY with the weights transposed (in <-> out) and flipped, padded k-1-p;
 *    measured faster than ConvTranspose here.
 *  - dW: im2col then one Gemm. Patches are cut from X in NHWC so that every (n, h, w) is a
 *    row and the contraction is a single Gemm(dY^T, cols); measured faster than the
 *    "batch as channels" Conv trick.
 *  - dB: dY summed over N, H, W.
 */
import { defineOp, emit, required, shapeError, type Tensor } from '../builder.js';
import type { Dim } from '../shape.js';
import { gemm } from './gemm.js';
import { reduceSum } from './reduce.js';
import { concat, pad, reshape, slice, transpose } from './shape.js';

export interface ConvAttrs {
  kernel_shape: readonly number[];
  pads: readonly number[];
  strides: readonly number[];
  [key: string]: readonly number[];
}

function outSize(size: Dim, k: number, before: number, after: number, stride: number): Dim {
  if (typeof size !== 'number') return size; // only batch is symbolic here; spatial dims are fixed
  return Math.floor((size + before + after - k) / stride) + 1;
}

const Conv = defineOp<ConvAttrs>({
  type: 'Conv',
  attrs: { kernel_shape: 'ints', pads: 'ints', strides: 'ints' },
  infer: ([x, w, b], { kernel_shape: [kh, kw], pads, strides }) => {
    const X = required(x, 'Conv', 'X');
    const W = required(w, 'Conv', 'W');
    if (X.rank !== 4 || W.rank !== 4) throw shapeError('Conv', 'X and W must be 4-D (NCHW, OIHW)', X, W);
    if (X.shape[1] !== W.shape[1]) {
      throw shapeError('Conv', `input has ${X.shape[1]} channels but the weight expects ${W.shape[1]}`, X, W);
    }
    if (W.shape[2] !== kh || W.shape[3] !== kw) throw shapeError('Conv', `kernel_shape [${kh},${kw}]`, W);
    if (b && (b.rank !== 1 || b.shape[0] !== W.shape[0])) {
      throw shapeError('Conv', `bias must be [${W.shape[0]}]`, b, W);
    }
    const oh = outSize(X.shape[2], kh, pads[0], pads[2], strides[0]);
    const ow = outSize(X.shape[3], kw, pads[1], pads[3], strides[1]);
    if ((typeof oh === 'number' && oh < 1) || (typeof ow === 'number' && ow < 1)) {
      throw shapeError('Conv', 'the kernel is larger than the padded input', X, W);
    }
    return [{ dtype: X.dtype, shape: [X.shape[0], W.shape[0], oh, ow] }];
  },
  gradient: ({ inputs: [x, w, b], attrs }, [dy]) => {
    if (attrs.strides.some((s) => s !== 1)) throw new Error('Conv gradient: only stride 1 is implemented');
    return [convInputGrad(dy!, w!, attrs), convWeightGrad(dy!, x!, attrs), b && reduceSum(dy!, [0, 2, 3])];
  },
});

/** dX = conv(dY, flip(W)^T) with padding k-1-p on each side. */
function convInputGrad(dy: Tensor, w: Tensor, { kernel_shape: [kh, kw], pads }: ConvAttrs): Tensor {
  const swapped = transpose(w, [1, 0, 2, 3]);
  const flipped = kh * kw === 1 ? swapped : slice(swapped, [-1, -1], [-kh - 1, -kw - 1], [2, 3], [-1, -1]);
  const back = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]];
  return conv(dy, flipped, undefined, { pads: back });
}

/** dW[o, i, u, v] = sum over n, h, w of dY[n, o, h, w] * Xpad[n, i, h + u, w + v]. */
function convWeightGrad(dy: Tensor, x: Tensor, { kernel_shape: [kh, kw], pads }: ConvAttrs): Tensor {
  const [, cin] = x.shape as number[];
  const [, cout, oh, ow] = dy.shape as number[];
  const xNhwc = pad(transpose(x, [0, 2, 3, 1]), [0, pads[0], pads[1], 0, 0, pads[2], pads[3], 0]);
  const patches: Tensor[] = [];
  for (let u = 0; u < kh; u++) {
    for (let v = 0; v < kw; v++) patches.push(kh * kw === 1 ? xNhwc : slice(xNhwc, [u, v], [u + oh, v + ow], [1, 2]));
  }
  const cols = reshape(patches.length === 1 ? patches[0] : concat(patches, 3), [-1, kh * kw * cin]);
  const dyRows = reshape(transpose(dy, [0, 2, 3, 1]), [-1, cout]);
  const dwFlat = gemm(dyRows, cols, { transA: 1 }); // [cout, (u, v, cin)]
  if (kh * kw === 1) return reshape(dwFlat, [cout, cin, 1, 1]);
  return transpose(reshape(dwFlat, [cout, kh, kw, cin]), [0, 3, 1, 2]);
}

export interface ConvOptions {
  /** [top, left, bottom, right], ONNX order. */
  pads?: readonly number[];
  strides?: readonly number[];
}

/** y = conv2d(x, w) + b; x [N,C,H,W], w [O,C,kh,kw], b [O]. */
export function conv(x: Tensor, w: Tensor, b?: Tensor, opts: ConvOptions = {}): Tensor {
  const kernel = [w.shape[2], w.shape[3]];
  if (typeof kernel[0] !== 'number' || typeof kernel[1] !== 'number') {
    throw shapeError('Conv', 'the kernel size must be static', w);
  }
  const attrs: ConvAttrs = {
    kernel_shape: kernel as number[],
    pads: opts.pads ?? [0, 0, 0, 0],
    strides: opts.strides ?? [1, 1],
  };
  return emit(Conv, [x, w, b], attrs)[0];
}
