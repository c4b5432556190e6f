/**
 * 2-D convolution (NCHW) and its gradient, for any stride, padding, dilation and groups.
 * ORT has no ConvGrad kernel, so the gradient is built from standard ops:
 *  - dX: for stride 1, no dilation and one group (the seed CNN's convs), a Conv of dY with the
 *    weights transposed (in <-> out) and flipped, padded k-1-p: measured faster than
 *    ConvTranspose here. Otherwise ConvTranspose of dY with the same weights, which is the
 *    conv's adjoint for any stride, dilation and groups (its weight layout [C_in, C_out/group,
 *    kh, kw] is read from Conv's [C_out, C_in/group, kh, kw] with the roles swapped), with
 *    `output_padding` restoring the rows and columns a strided conv never read.
 *  - dW: im2col, then a batched MatMul contracting over positions, summed over the batch.
 *    The im2col is itself a Conv: a grouped conv (one group per input channel) with a
 *    constant one-hot kernel, the forward's strides, pads and dilations, copies every window
 *    tap into its own channel, laid out [N, Ci*kh*kw, P] so that dW comes out already in
 *    [Co, Ci/group, kh, kw] order (groups are a batch dimension of the MatMul). Measured: 18 ms
 *    for conv2 at batch 128, against 48 ms for Pad + Slices + Concat + Gemm.
 *  - dB: dY summed over N, H, W.
 */
import { defineOp, emit, type Ops, shapeError, staticDim, staticShape, type Tensor } from '../builder.js';
import type { Dim } from '../shape.js';

export interface ConvAttrs {
  kernel_shape: readonly number[];
  pads: readonly number[];
  strides: readonly number[];
  /** Absent means 1 (ONNX's default); the seed CNN's graphs leave both out. */
  dilations?: readonly number[];
  group?: number;
}

function outSize(size: Dim, k: number, before: number, after: number, stride: number, dilation: number): Dim {
  if (typeof size !== 'number') return size; // only batch is symbolic here; spatial dims are fixed
  return Math.floor((size + before + after - dilation * (k - 1) - 1) / stride) + 1;
}

const ones = (n: number) => new Array<number>(n).fill(1);

/** ONNX's Conv (exported for the NCHWc lowering, which recognises its nodes by it). */
export const Conv = defineOp<[X: Tensor, W: Tensor, B?: Tensor], ConvAttrs>({
  type: 'Conv',
  since: 1,
  attrs: { kernel_shape: 'ints', pads: 'ints', strides: 'ints', dilations: 'ints', group: 'int' },
  infer: ([X, W, b], { kernel_shape: [kh, kw], pads, strides, dilations = ones(2), group = 1 }) => {
    if (X.rank !== 4 || W.rank !== 4) throw shapeError('Conv', 'X and W must be 4-D (NCHW, OIHW)', X, W);
    const channels = staticDim(W, 1, 'Conv') * group;
    if (X.shape[1] !== channels) {
      throw shapeError('Conv', `input has ${X.shape[1]} channels but the weight expects ${channels}`, X, W);
    }
    if (staticDim(W, 0, 'Conv') % group !== 0)
      throw shapeError('Conv', `${W.shape[0]} output channels do not split into ${group} groups`, W);
    if (W.shape[2] !== kh || W.shape[3] !== kw) throw shapeError('Conv', `kernel_shape [${kh},${kw}]`, W);
    if (b && (b.rank !== 1 || b.shape[0] !== W.shape[0])) {
      throw shapeError('Conv', `bias must be [${W.shape[0]}]`, b, W);
    }
    const oh = outSize(X.shape[2], kh, pads[0], pads[2], strides[0], dilations[0]);
    const ow = outSize(X.shape[3], kw, pads[1], pads[3], strides[1], dilations[1]);
    if ((typeof oh === 'number' && oh < 1) || (typeof ow === 'number' && ow < 1)) {
      throw shapeError('Conv', 'the kernel is larger than the padded input', X, W);
    }
    return [{ dtype: X.dtype, shape: [X.shape[0], W.shape[0], oh, ow] }];
  },
  gradient: ({ inputs: [x, w, b], attrs }, [dy], op) => [
    convInputGrad(op, dy, x, w, attrs),
    convWeightGrad(op, dy, x, attrs),
    b && op.reduceSum(dy, [0, 2, 3]),
  ],
});

interface ConvTransposeAttrs {
  kernel_shape: readonly number[];
  pads: readonly number[];
  strides: readonly number[];
  dilations?: readonly number[];
  output_padding?: readonly number[];
  group?: number;
}

/**
 * ConvTranspose, the adjoint of Conv: emitted only by gradients (Conv's dX, AveragePool's), so it
 * has no gradient rule.
 */
const ConvTranspose = defineOp<[X: Tensor, W: Tensor, B?: Tensor], ConvTransposeAttrs>({
  type: 'ConvTranspose',
  since: 11,
  attrs: {
    kernel_shape: 'ints',
    pads: 'ints',
    strides: 'ints',
    dilations: 'ints',
    output_padding: 'ints',
    group: 'int',
  },
  infer: ([X, W], { kernel_shape: k, pads, strides, dilations = ones(2), output_padding = [0, 0], group = 1 }) => {
    if (X.rank !== 4 || W.rank !== 4 || X.shape[1] !== W.shape[0])
      throw shapeError('ConvTranspose', 'expects X [N,C,H,W] and W [C,O/group,kh,kw]', X, W);
    const size = (axis: number) => {
      const d = X.shape[2 + axis];
      if (typeof d !== 'number') return d;
      return (
        strides[axis] * (d - 1) +
        output_padding[axis] +
        dilations[axis] * (k[axis] - 1) +
        1 -
        pads[axis] -
        pads[axis + 2]
      );
    };
    return [{ dtype: X.dtype, shape: [X.shape[0], staticDim(W, 1, 'ConvTranspose') * group, size(0), size(1)] }];
  },
});

/** The input gradient of a conv (any attributes): back to `like`'s shape. */
export function convTranspose(
  dy: Tensor,
  w: Tensor,
  like: Tensor,
  { kernel_shape, pads, strides, dilations, group }: ConvAttrs,
): Tensor {
  const [, , h, wd] = staticShape(like, 'ConvTranspose');
  const [, , oh, ow] = staticShape(dy, 'ConvTranspose');
  const d = dilations ?? ones(2);
  const reached = (axis: number, out: number) =>
    strides[axis] * (out - 1) + d[axis] * (kernel_shape[axis] - 1) + 1 - pads[axis] - pads[axis + 2];
  const attrs: ConvTransposeAttrs = {
    kernel_shape,
    pads,
    strides,
    dilations,
    output_padding: [h - reached(0, oh), wd - reached(1, ow)],
    group,
  };
  const bias = portableBias(dy, staticDim(w, 1, 'ConvTranspose') * (group ?? 1));
  return emit(ConvTranspose, bias ? [dy, w, bias] : [dy, w], attrs)[0];
}

const isPlain = ({ strides, dilations, group }: ConvAttrs) =>
  strides.every((s) => s === 1) && (dilations ?? []).every((d) => d === 1) && (group ?? 1) === 1;

/**
 * W with both window axes reversed, as a MatMul of its windows [Co*Ci, k] by the k x k exchange
 * matrix: exact (each value times 1 plus zeros), and a GEMM, where a Slice with steps of -1
 * went value by value (6 ms for resnet18's 512x512x3x3 filters against under 1 ms).
 */
function flipWindows(op: Ops, w: Tensor): Tensor {
  const [cout, cin, kh, kw] = staticShape(w, 'Conv gradient');
  const k = kh * kw;
  const exchange = new Float32Array(k * k);
  for (let j = 0; j < k; j++) exchange[j * k + (k - 1 - j)] = 1;
  const windows = op.reshape(w, [cout * cin, k]);
  return op.reshape(op.matmul(windows, w.graph.constant(w.dtype, [k, k], exchange)), [cout, cin, kh, kw]);
}

/**
 * How one spatial axis of a strided conv's input gradient splits into phases: input row
 * y = s*a + r (phase r) receives dY[a + d] * W[tap] for d in start..start+kernel-1, where
 * `taps[r][d - start]` is the tap (-1: none). Each phase is a stride-1 correlation of dY.
 */
interface PhasePlan {
  start: number;
  kernel: number;
  taps: number[][];
}

function phasePlan(k: number, stride: number, padBefore: number): PhasePlan | undefined {
  const phases = [...Array(stride).keys()].map((r) => {
    const first = (r + padBefore) % stride; // the phase's first tap, and every stride-th after it
    const last = Math.floor((r + padBefore) / stride); // dY offset of that first tap
    const count = first < k ? Math.ceil((k - first) / stride) : 0;
    return { first, last, count };
  });
  const used = phases.filter((p) => p.count > 0);
  const start = Math.min(...used.map((p) => p.last - p.count + 1));
  const end = Math.max(...used.map((p) => p.last));
  if (used.length === 0 || start > 0) return undefined; // only with padding >= kernel: left to ConvTranspose
  const kernel = end - start + 1;
  const taps = phases.map(({ first, last, count }) =>
    [...Array(kernel).keys()].map((j) => {
      const m = last - (start + j);
      return m >= 0 && m < count ? first + stride * m : -1;
    }),
  );
  return { start, kernel, taps };
}

/**
 * dX of a strided conv (one group, no dilation, the same stride on both axes) as one stride-1
 * conv and a DepthToSpace: each phase (r, q) of dX's pixels (y mod s, x mod s) is a correlation
 * of dY with its own taps of W, so one conv with s*s phases per input channel computes them all
 * and DepthToSpace interleaves them. ConvTranspose ran these as one small GEMM per image
 * (resnet18's 256 -> 128 channels on 2x2 images: 14 ms at batch 128); this conv runs on the
 * NCHWc kernels where the lowering takes it, at about 1.8 times the useful products for 3x3,
 * stride 2 (a 2x2 kernel per phase, zeros where a phase has fewer taps).
 */
function stridedInputGrad(op: Ops, dy: Tensor, x: Tensor, w: Tensor, attrs: ConvAttrs): Tensor | undefined {
  const {
    kernel_shape: [kh, kw],
    pads,
    strides,
  } = attrs;
  const s = strides[0];
  // 1x1 kernels keep ConvTranspose: with no overlap it is one GEMM per image, where phases would multiply zeros.
  if (kh * kw === 1 || strides[1] !== s || !isPlain({ ...attrs, strides: [1, 1] }) || w.graph.options.portable)
    return undefined;
  const [rows, cols] = [phasePlan(kh, s, pads[0]), phasePlan(kw, s, pads[1])];
  if (!rows || !cols) return undefined;
  const [cout, cin] = staticShape(w, 'Conv gradient');
  const [, , h, wd] = staticShape(x, 'Conv gradient');
  const [, , oh, ow] = staticShape(dy, 'Conv gradient');
  // The filter [Ci*s*s, Co, K, K'] from W's taps by a 0/1 selection matrix (a GEMM, exact).
  const phaseTaps = rows.kernel * cols.kernel;
  const select = new Float32Array(kh * kw * s * s * phaseTaps);
  for (let r = 0; r < s; r++)
    for (let q = 0; q < s; q++)
      for (let i = 0; i < rows.kernel; i++)
        for (let j = 0; j < cols.kernel; j++) {
          const [u, v] = [rows.taps[r][i], cols.taps[q][j]];
          if (u >= 0 && v >= 0)
            select[(u * kw + v) * s * s * phaseTaps + (r * s + q) * phaseTaps + i * cols.kernel + j] = 1;
        }
  const selection = w.graph.constant(w.dtype, [kh * kw, s * s * phaseTaps], select);
  const taps = op.matmul(op.reshape(w, [cout * cin, kh * kw]), selection);
  // In <-> out as a 4-D swap, the form the NCHWc lowering folds into its filter reorder.
  const filter = op.transpose(op.reshape(taps, [cout, cin * s * s, rows.kernel, cols.kernel]), [1, 0, 2, 3]);
  // Output a reads dY[a + start ..]; enough rows after for ceil(h / s) outputs, cropped to h below.
  const after = (size: number, out: number, plan: PhasePlan) =>
    Math.max(0, Math.ceil(size / s) - out + plan.kernel - 1 + plan.start);
  const phased = op.conv(dy, filter, undefined, {
    pads: [-rows.start, -cols.start, after(h, oh, rows), after(wd, ow, cols)],
  });
  const spread = op.depthToSpace(phased, s);
  const [, , sh, sw] = staticShape(spread, 'Conv gradient');
  return sh > h || sw > wd ? op.slice(spread, [0, 0], [h, wd], [2, 3]) : spread;
}

/**
 * dX of a stride-1 depthwise conv: itself depthwise, dY by the flipped windows, each channel's
 * m multiplier outputs as one group's inputs (W [C*m, 1, k, k'] read as [C, m, k, k']). ORT's
 * grouped Conv where ConvTranspose's grouped form took 13-19 ms a node in EfficientNet-B0.
 */
function depthwiseInputGrad(op: Ops, dy: Tensor, w: Tensor, attrs: ConvAttrs): Tensor {
  const [cout, , kh, kw] = staticShape(w, 'Conv gradient');
  const { pads, group = 1 } = attrs;
  const flipped = op.reshape(flipWindows(op, w), [group, cout / group, kh, kw]);
  const back = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]];
  return op.conv(dy, flipped, undefined, { pads: back, group });
}

/**
 * dX: conv(dY, flip(W)^T) with padding k-1-p on each side when the conv is plain; a phase conv
 * when it is only strided; else ConvTranspose.
 */
function convInputGrad(op: Ops, dy: Tensor, x: Tensor, w: Tensor, attrs: ConvAttrs): Tensor {
  if (isPlain({ ...attrs, group: 1 }) && isDepthwise(x, attrs) && !x.graph.options.portable)
    return depthwiseInputGrad(op, dy, w, attrs);
  if (!isPlain(attrs)) return stridedInputGrad(op, dy, x, w, attrs) ?? op.convTranspose(dy, w, x, attrs);
  const [kh, kw] = attrs.kernel_shape;
  const { pads } = attrs;
  const flipped = op.transpose(kh * kw === 1 ? w : flipWindows(op, w), [1, 0, 2, 3]);
  const back = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]];
  return op.conv(dy, flipped, undefined, { pads: back });
}

/** Columns [N, Ci*kh*kw, OH*OW]: row ci*kh*kw + u*kw + v holds the window tap (u, v) of channel ci. */
function im2col(
  op: Ops,
  x: Tensor,
  { kernel_shape: [kh, kw], pads, strides, dilations }: ConvAttrs,
  [oh, ow]: readonly [number, number],
): Tensor {
  const [n, cin] = staticShape(x, 'Conv gradient');
  const positions = oh * ow;
  const k = kh * kw;
  const unstrided = strides.every((s) => s === 1) && pads.every((p) => p === 0);
  if (k === 1 && unstrided) return op.reshape(x, [n, cin, positions]);
  if (x.graph.options.portable)
    return im2colBySlices(op, x, { kernel_shape: [kh, kw], pads, strides, dilations }, [oh, ow]);
  const oneHot = new Float32Array(cin * k * k);
  for (let c = 0; c < cin; c++) for (let j = 0; j < k; j++) oneHot[(c * k + j) * k + j] = 1;
  const kernel = x.graph.constant('float32', [cin * k, 1, kh, kw], oneHot);
  const attrs: ConvAttrs = { kernel_shape: [kh, kw], pads, strides, dilations, group: cin };
  return op.reshape(emit(Conv, [x, kernel], attrs)[0], [n, cin * k, positions]);
}

/** The window taps of x's spatial axes (2, 3): tap (u, v) is a strided Slice of the padded input, in (u, v) order. */
function windowTaps(
  op: Ops,
  x: Tensor,
  { kernel_shape: [kh, kw], pads, strides, dilations }: ConvAttrs,
  [oh, ow]: readonly [number, number],
): Tensor[] {
  const [dh, dw] = dilations ?? [1, 1];
  const padded = pads.some((p) => p !== 0) ? op.pad(x, [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]]) : x;
  const taps: Tensor[] = [];
  for (let u = 0; u < kh; u++) {
    for (let v = 0; v < kw; v++) {
      const start = [u * dh, v * dw];
      const end = [start[0] + (oh - 1) * strides[0] + 1, start[1] + (ow - 1) * strides[1] + 1];
      taps.push(op.slice(padded, start, end, [2, 3], strides));
    }
  }
  return taps;
}

/**
 * im2col for portable graphs: the window taps stacked after the channels, so rows come out in
 * im2col's order. Slower on the CPU than the grouped conv above, but right on WebGPU, whose
 * grouped Conv with this one-hot kernel (group = channels, nine outputs each) gave wrong
 * columns (onnxruntime-web 1.30, Chromium's SwiftShader adapter: 35% off).
 */
function im2colBySlices(op: Ops, x: Tensor, attrs: ConvAttrs, [oh, ow]: readonly [number, number]): Tensor {
  const [n, cin] = staticShape(x, 'Conv gradient');
  const taps = windowTaps(op, x, attrs, [oh, ow]).map((t) => op.unsqueeze(t, [2]));
  return op.reshape(op.concat(taps, 2), [n, cin * taps.length, oh * ow]);
}

/**
 * Columns with the batch inside, [Ci*kh*kw, N*OH*OW] (row ci*kh*kw + u*kw + v, as im2col's):
 * the input as [Ci, N, H, W], its window taps stacked after the channels. Slices, not the
 * grouped conv: where the image is small they are a few copies, and the grouped conv's 512
 * groups of nine outputs took 6 ms a conv in resnet18's last stage.
 */
function im2colBatchInside(op: Ops, x: Tensor, attrs: ConvAttrs, [oh, ow]: readonly [number, number]): Tensor {
  const [n, cin] = staticShape(x, 'Conv gradient');
  const channelsFirst = op.transpose(x, [1, 0, 2, 3]);
  const taps = windowTaps(op, channelsFirst, attrs, [oh, ow]);
  const stacked =
    taps.length === 1
      ? taps[0]
      : op.concat(
          taps.map((t) => op.unsqueeze(t, [1])),
          1,
        );
  return op.reshape(stacked, [cin * taps.length, n * oh * ow]);
}

/**
 * dW of a one-group conv as itself a conv, the batch correlated away: the input as [Ci, N, H, W]
 * (images = input channels, channels = the batch), dY as the filter [Co, N, OH, OW], the
 * forward's dilations as strides and its strides as dilations, then [Ci, Co, kh, kw] swapped.
 * It runs on ORT's Conv kernels (NCHWc where the lowering takes it) with no columns in memory.
 * A depthwise conv (one input channel per group) is the same sum within each channel: the input
 * as one image of Ci*N channels, Ci groups, which gives [1, Co, kh, kw] directly.
 */
function weightGradByConv(op: Ops, dy: Tensor, x: Tensor, attrs: ConvAttrs, depthwise = false): Tensor {
  const {
    kernel_shape: [kh, kw],
    pads,
    strides,
    dilations,
  } = attrs;
  const [n, cin, h, w] = staticShape(x, 'Conv gradient');
  const channelsFirst = op.transpose(x, [1, 0, 2, 3]);
  const swapped = op.conv(
    depthwise ? op.reshape(channelsFirst, [1, cin * n, h, w]) : channelsFirst,
    op.transpose(dy, [1, 0, 2, 3]),
    undefined,
    { pads, strides: dilations ?? [1, 1], dilations: strides, group: depthwise ? cin : 1 },
  );
  const [, cout, sh, sw] = staticShape(swapped, 'Conv gradient');
  // A strided conv can leave input rows it never read: windows past the kernel, dropped.
  const trimmed = sh > kh || sw > kw ? op.slice(swapped, [0, 0], [kh, kw], [2, 3]) : swapped;
  return depthwise ? op.reshape(trimmed, [cout, 1, kh, kw]) : op.transpose(trimmed, [1, 0, 2, 3]);
}

/**
 * One input channel per group, every channel its own group (a channel multiplier allowed):
 * MobileNet's and EfficientNet's 3x3s.
 */
const isDepthwise = (x: Tensor, { group = 1 }: ConvAttrs) => group > 1 && staticDim(x, 1, 'Conv gradient') === group;

/**
 * dW[o, i, u, v] = sum over n, p of dY[n, o, p] * cols[n, (i, u, v), p], within o's group, as
 * one of two contractions, whichever moves fewer values:
 *  - per image: a batched MatMul [N, Co, P] x [N, P, Ci*k], then ReduceSum over N. It writes
 *    N*Co*Ci*k values; cheap where the image is large and the filter small (the seed CNN).
 *  - over the batch: dY as [Co, N*P] and the columns as [Ci*k, N*P], one MatMul contracting
 *    N*P. It copies N*P*(Co + Ci*k) values; cheap where the filter is large and the image
 *    small (resnet18's later stages, P = 1..16: the per-image form wrote up to 300M values a
 *    conv there, and took 60% of the step). One group: the same sum as a conv (weightGradByConv),
 *    measured 13% faster on resnet18's step than the columns (their Slices, Pad and Concat);
 *    portable graphs keep the columns (WebGPU's Conv is checked only in the forms above).
 * Groups are a batch dimension of the MatMul; one group keeps the 3-D (per image) or 2-D form.
 */
function convWeightGrad(op: Ops, dy: Tensor, x: Tensor, attrs: ConvAttrs): Tensor {
  const [n, cout, oh, ow] = staticShape(dy, 'Conv gradient');
  const [kh, kw] = attrs.kernel_shape;
  const cin = staticDim(x, 1, 'Conv gradient');
  const g = attrs.group ?? 1;
  const positions = oh * ow;
  const taps = (cin / g) * kh * kw; // one output channel's filter
  const weightShape = [cout, cin / g, kh, kw];
  const overBatch = cout * taps > positions * (cout / g + taps);
  if (!x.graph.options.portable && (g === 1 ? overBatch : isDepthwise(x, attrs)))
    return weightGradByConv(op, dy, x, attrs, g !== 1);
  if (overBatch) {
    const grouped = (t: Tensor, channels: number) => (g === 1 ? t : op.reshape(t, [g, channels, n * positions]));
    const rows = op.reshape(op.transpose(dy, [1, 0, 2, 3]), [cout, n * positions]);
    const cols = im2colBatchInside(op, x, attrs, [oh, ow]);
    return op.reshape(op.matmul(grouped(rows, cout / g), op.swapLast(grouped(cols, taps))), weightShape);
  }
  const cols = im2col(op, x, attrs, [oh, ow]);
  if (g === 1)
    return op.reshape(
      op.reduceSum(op.matmul(op.reshape(dy, [n, cout, positions]), op.swapLast(cols)), [0]),
      weightShape,
    );
  const perGroup = op.matmul(
    op.reshape(dy, [n, g, cout / g, positions]),
    op.swapLast(op.reshape(cols, [n, g, taps, positions])),
  );
  return op.reshape(op.reduceSum(perGroup, [0]), weightShape); // [G, Co/G, Ci/G*kh*kw] -> [Co, Ci/G, kh, kw]
}

export interface ConvOptions {
  /** [top, left, bottom, right], ONNX order. */
  pads?: readonly number[];
  strides?: readonly number[];
  dilations?: readonly number[];
  group?: number;
}

/**
 * y = conv2d(x, w) + b; x [N,C,H,W], w [O,C/group,kh,kw], b [O]. Attributes at their defaults are
 * left out of the node.
 */
export function conv(x: Tensor, w: Tensor, b?: Tensor, opts: ConvOptions = {}): Tensor {
  const attrs: ConvAttrs = {
    kernel_shape: [staticDim(w, 2, 'Conv'), staticDim(w, 3, 'Conv')],
    pads: opts.pads ?? [0, 0, 0, 0],
    strides: opts.strides ?? [1, 1],
  };
  if (opts.dilations?.some((d) => d !== 1)) attrs.dilations = opts.dilations;
  if (opts.group !== undefined && opts.group !== 1) attrs.group = opts.group;
  return emit(Conv, [x, w, b ?? portableBias(x, staticDim(w, 0, 'Conv'))], attrs)[0];
}

/**
 * In a portable graph, a zero bias for a conv that has none: onnxruntime-web 1.30's WebGPU Conv
 * and ConvTranspose fail without their optional bias ("The input shape must not be empty",
 * measured in Chromium's SwiftShader adapter); elsewhere none.
 */
function portableBias(x: Tensor, channels: number): Tensor | undefined {
  return x.graph.options.portable
    ? x.graph.constant(x.dtype, [channels], new Array<number>(channels).fill(0))
    : undefined;
}

declare module '../builder.js' {
  interface Ops {
    conv: typeof conv;
    convTranspose: typeof convTranspose;
  }
}
