/**
 * MaxPool (kernel, strides, optional padding: padded cells never win). The gradient routes dy
 * to the arg-max of each window, given by the forward's Indices output (flat indices into the
 * input, N and C included), or in a portable graph (no Indices on WebGPU) by a first-maximum
 * mask (firstMaximumGradient). Where windows do not overlap, MaxUnpool is exactly that scatter
 * (measured 2x faster than ScatterElements); where they do (stride < kernel), one input cell
 * can win several windows and its gradient is their sum, which MaxUnpool does not add up (it
 * keeps one: measured), so a ScatterElements with reduction 'add' does it. An equality mask
 * (x == upsampled max) would be cheaper but is wrong on MNIST, whose flat background makes
 * exact ties common (measured: up to 120% error); Indices pick the first maximum, as PyTorch does.
 */
import { defineOp, emit, NotPortableError, type Ops, shapeError, staticShape, type Tensor } from '../builder.js';
import { isStatic, numel } from '../shape.js';
import { constValues, int64s } from './helpers.js';

interface MaxPoolAttrs {
  kernel_shape: readonly number[];
  strides: readonly number[];
  /** [top, left, bottom, right]; absent means none (the seed CNN's graphs leave it out). */
  pads?: readonly number[];
}

// Indices is left out (`outputCount: 1`) where nothing differentiates the pooling.
const MaxPool = defineOp<[X: Tensor], MaxPoolAttrs, readonly [Y: Tensor, Indices?: Tensor]>({
  type: 'MaxPool',
  since: 8,
  attrs: { kernel_shape: 'ints', strides: 'ints', pads: 'ints' },
  infer: ([X], { kernel_shape: k, strides: s, pads: p = [0, 0, 0, 0] }) => {
    if (X.rank !== 4) throw shapeError('MaxPool', 'X must be 4-D (NCHW)', X);
    const [n, c, h, w] = X.shape;
    if (typeof h !== 'number' || typeof w !== 'number' || h + p[0] + p[2] < k[0] || w + p[1] + p[3] < k[1]) {
      throw shapeError('MaxPool', `window [${k}] does not fit`, X);
    }
    const shape = [
      n,
      c,
      Math.floor((h + p[0] + p[2] - k[0]) / s[0]) + 1,
      Math.floor((w + p[1] + p[3] - k[1]) / s[1]) + 1,
    ];
    return [
      { dtype: X.dtype, shape },
      { dtype: 'int64', shape },
    ];
  },
  gradient: ({ inputs: [x], outputs: [y, indices], attrs }, [dy], op) => {
    // Indices (int64) takes no gradient, so when one reaches this node it is Y's.
    if (!dy) return [undefined];
    if (!indices) {
      if (!x.graph.options.portable)
        throw new Error('MaxPool gradient needs the Indices output: emit it with maxPoolWithIndices');
      return [firstMaximumGradient(op, x, y, dy, attrs)];
    }
    const shape = staticShape(x, 'MaxPool gradient');
    const overlapping = attrs.strides.some((s, i) => s < attrs.kernel_shape[i]);
    if (!overlapping) return [emit(MaxUnpool, [dy, indices, int64s(x, shape)], attrs)[0]];
    const flat = (t: Tensor) => op.reshape(t, [1, -1]);
    const zeros = op.expand(x.graph.scalar(0, x.dtype), [1, numel(shape)]);
    return [
      op.reshape(emit(ScatterElements, [zeros, flat(indices), flat(dy)], { axis: 1, reduction: 'add' })[0], shape),
    ];
  },
});

const MaxUnpool = defineOp<[X: Tensor, I: Tensor, output_shape: Tensor], MaxPoolAttrs>({
  type: 'MaxUnpool',
  since: 11,
  attrs: { kernel_shape: 'ints', strides: 'ints', pads: 'ints' },
  infer: ([x, indices, shape]) => {
    const dims = constValues(shape, 'MaxUnpool');
    if (indices.dtype !== 'int64') throw shapeError('MaxUnpool', 'indices must be int64', indices);
    return [{ dtype: x.dtype, shape: dims }];
  },
});

/** Windows that tile the input without overlap or padding: where a first-maximum mask can stand for Indices. */
const tiles = ({ kernel_shape: k, strides: s, pads }: MaxPoolAttrs) =>
  s[0] === k[0] && s[1] === k[1] && !pads?.some((p) => p !== 0);

/**
 * MaxPool's gradient without Indices (portable graphs: WebGPU has neither Indices nor
 * MaxUnpool), for windows that tile the input: dy goes to the first cell of each window (in
 * row-major order, as Indices picks) that equals the window's maximum. Cells are compared with
 * the forward's Y, which is one of them exactly. The first one is found without CumSum:
 * with e_i the equality of cell i, first_i = e_i (1 - e_0) ... (1 - e_(i-1)).
 */
function firstMaximumGradient(op: Ops, x: Tensor, y: Tensor, dy: Tensor, attrs: MaxPoolAttrs): Tensor {
  if (!tiles(attrs))
    throw new Error(
      'MaxPool gradient: without Indices, only windows that tile the input (stride = kernel, no padding)',
    );
  const [n, c, h, w] = staticShape(x, 'MaxPool gradient');
  const [, , ho, wo] = staticShape(y, 'MaxPool gradient');
  const [kh, kw] = attrs.kernel_shape;
  const covered = ho * kh === h && wo * kw === w ? x : op.slice(x, [0, 0], [ho * kh, wo * kw], [2, 3]);
  // [N, C, Ho, Wo, kh*kw]: each window's cells in row-major order.
  const cells = (t: Tensor, k: [number, number]) =>
    op.reshape(op.transpose(op.reshape(t, [n, c, ho, k[0], wo, k[1]]), [0, 1, 2, 4, 3, 5]), [
      n,
      c,
      ho,
      wo,
      k[0] * k[1],
    ]);
  const equal = op.cast(op.equal(cells(covered, [kh, kw]), op.reshape(y, [n, c, ho, wo, 1])), x.dtype);
  const firsts: Tensor[] = [];
  let none: Tensor | undefined; // 1 where no earlier cell of the window was a maximum
  for (let i = 0; i < kh * kw; i++) {
    const e = op.slice(equal, [i], [i + 1], [4]);
    firsts.push(none ? op.mul(e, none) : e);
    none = none ? op.mul(none, op.sub(1, e)) : op.sub(1, e);
  }
  const routed = op.mul(op.concat(firsts, 4), op.reshape(dy, [n, c, ho, wo, 1]));
  const back = op.reshape(op.transpose(op.reshape(routed, [n, c, ho, wo, kh, kw]), [0, 1, 2, 4, 3, 5]), [
    n,
    c,
    ho * kh,
    wo * kw,
  ]);
  return covered === x ? back : op.pad(back, [0, 0, 0, 0, 0, 0, h - ho * kh, w - wo * kw]);
}

/** Emitted only by MaxPool's gradient (no rule of its own). */
const ScatterElements = defineOp<[data: Tensor, indices: Tensor, updates: Tensor], { axis: number; reduction: string }>(
  {
    type: 'ScatterElements',
    since: 16,
    attrs: { axis: 'int', reduction: 'string' },
    infer: ([data, indices, updates]) => {
      if (indices.dtype !== 'int64' || indices.rank !== data.rank || updates.rank !== data.rank)
        throw shapeError('ScatterElements', 'ranks or index type differ', data, indices, updates);
      return [{ dtype: data.dtype, shape: data.shape }];
    },
  },
);

export interface PoolOptions {
  /** Window step (default: the kernel). */
  strides?: readonly number[];
  /** [top, left, bottom, right] (default none). */
  pads?: readonly number[];
  /**
   * PyTorch's ceil_mode: a last, partial window where the input leaves
   * one (emitted as extra bottom/right padding, which never wins).
   */
  ceilMode?: boolean;
}

/**
 * The bottom/right padding that makes floor-mode pooling count PyTorch's ceil-mode windows:
 * ceil((size + pads - k) / s) + 1 of them, less one that would start in the bottom padding
 * (torch's pooling_output_shape).
 */
function ceilModePads(
  sizes: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  pads: readonly number[],
): number[] {
  const extra = sizes.map((size, i) => {
    const [k, s, before, after] = [kernel[i], strides[i], pads[i], pads[i + 2]];
    let out = Math.ceil((size + before + after - k) / s) + 1;
    if ((out - 1) * s >= size + before) out--;
    return Math.max(0, (out - 1) * s + k - (size + before + after));
  });
  return [pads[0], pads[1], pads[2] + extra[0], pads[3] + extra[1]];
}

function attrs(x: Tensor, kernel: number | readonly number[], stride: number | PoolOptions | undefined): MaxPoolAttrs {
  const k = typeof kernel === 'number' ? [kernel, kernel] : kernel;
  const opts: PoolOptions = typeof stride === 'number' ? { strides: [stride, stride] } : (stride ?? {});
  const a: MaxPoolAttrs = { kernel_shape: k, strides: opts.strides ?? k };
  const spatial = x.shape.slice(2);
  if (opts.ceilMode && !isStatic(spatial)) throw shapeError('MaxPool', 'ceil mode needs the spatial dims', x);
  const pads =
    opts.ceilMode && isStatic(spatial) ? ceilModePads(spatial, k, a.strides, opts.pads ?? [0, 0, 0, 0]) : opts.pads;
  if (pads?.some((p) => p !== 0)) a.pads = pads;
  return a;
}

/** Max over kernel x kernel windows (inference). */
export function maxPool(x: Tensor, kernel: number | readonly number[], options?: number | PoolOptions): Tensor {
  return emit(MaxPool, [x], attrs(x, kernel, options), { outputCount: 1 })[0];
}

/**
 * Max pooling that can be differentiated: with the arg-max indices output, which the gradient
 * scatters through; in a portable graph, for windows that tile the input, without (the gradient
 * is then a first-maximum mask, the same values).
 */
export function maxPoolWithIndices(
  x: Tensor,
  kernel: number | readonly number[],
  options?: number | PoolOptions,
): Tensor {
  const a = attrs(x, kernel, options);
  if (!x.graph.options.portable) return emit(MaxPool, [x], a)[0];
  if (!tiles(a))
    throw new NotPortableError(
      `MaxPool [${a.kernel_shape}] stride [${a.strides}]: ` +
        `a portable graph differentiates only windows that tile the input (stride = kernel, no padding)`,
    );
  return emit(MaxPool, [x], a, { outputCount: 1 })[0];
}

declare module '../builder.js' {
  interface Ops {
    maxPool: typeof maxPool;
    maxPoolWithIndices: typeof maxPoolWithIndices;
  }
}
