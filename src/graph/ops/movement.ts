/**
 * Ops that move data without arithmetic: Identity, Reshape, Flatten, Transpose, Unsqueeze,
 * Expand, Concat, Slice, Pad. Each gradient moves the gradient back the same way (Expand's
 * sums it back over the broadcast axes: `op.sumTo`).
 */
import { defineOp, emit, Identity, type Inputs, type Ops, shapeError, staticDim, type Tensor } from '../builder.js';
import { broadcastShapes, type Dim, divideDims, normalizeAxis, type Shape } from '../shape.js';
import { constValues, int64s } from './helpers.js';

export function identity(x: Tensor, name?: string): Tensor {
  return emit(Identity, [x], {}, { outputNames: name ? [name] : undefined })[0];
}

/** Reshape with ONNX semantics: 0 copies the input dim, one -1 is inferred. */
function reshapeDims(x: Tensor, target: readonly number[]): Shape {
  const dims: Dim[] = target.map((d, i) => (d === 0 ? x.shape[i] : d));
  const free = dims.indexOf(-1);
  if (free >= 0) {
    const known = dims.filter((_, i) => i !== free);
    const inferred = divideDims(x.shape, known);
    if (inferred === undefined) {
      throw shapeError('Reshape', `cannot reshape to [${target.join(',')}]`, x);
    }
    dims[free] = inferred;
  } else if (divideDims(x.shape, dims) !== 1) {
    throw shapeError('Reshape', `element count differs from [${target.join(',')}]`, x);
  }
  return dims;
}

/** The gradient of an op that only reshapes (Reshape, Flatten, Unsqueeze): dy in the input's shape. */
function reshapeBack(
  { inputs: [x] }: { readonly inputs: readonly [Tensor, ...Inputs] },
  [dy]: readonly [Tensor],
  op: Ops,
): [Tensor] {
  return [op.reshape(dy, x.shape)];
}

const Reshape = defineOp<[data: Tensor, shape: Tensor]>({
  type: 'Reshape',
  since: 5,
  attrs: {},
  infer: ([x, shape]) => [{ dtype: x.dtype, shape: reshapeDims(x, constValues(shape, 'Reshape')) }],
  gradient: reshapeBack,
});

/**
 * `shape` may use 0 (keep) and -1 (infer). A symbolic dim at its position in x is kept (0); one
 * elsewhere, or a product such as '4*N' (attention's batch times heads), is inferred (-1).
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const numeric = shape.map((d, i) => (typeof d === 'number' ? d : x.shape[i] === d ? 0 : -1));
  if (numeric.filter((d) => d === -1).length > 1)
    throw shapeError('Reshape', `more than one dim to infer in [${shape.join(',')}]`, x);
  const y = emit(Reshape, [x, int64s(x, numeric)], {})[0];
  if (y.shape.some((d, i) => d !== shape[i] && shape[i] !== -1 && shape[i] !== 0))
    throw shapeError('Reshape', `cannot reshape to [${shape.join(',')}]`, x);
  return y;
}

const Flatten = defineOp<[input: Tensor], { axis: number }>({
  type: 'Flatten',
  since: 1,
  attrs: { axis: 'int' },
  infer: ([x], { axis }) => {
    const a = axis < 0 ? axis + x.rank : axis;
    const outer = divideDims(x.shape.slice(0, a), []);
    const inner = divideDims(x.shape.slice(a), []);
    if (outer === undefined || inner === undefined) throw shapeError('Flatten', `axis ${axis}`, x);
    return [{ dtype: x.dtype, shape: [outer, inner] }];
  },
  gradient: reshapeBack,
});

export function flatten(x: Tensor, axis = 1): Tensor {
  return emit(Flatten, [x], { axis })[0];
}

export const Transpose = defineOp<[data: Tensor], { perm: readonly number[] }>({
  type: 'Transpose',
  since: 1,
  attrs: { perm: 'ints' },
  infer: ([x], { perm }) => {
    if (perm.length !== x.rank) throw shapeError('Transpose', `perm [${perm}] does not match rank`, x);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  gradient: ({ attrs: { perm } }, [dy], op) => {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [op.transpose(dy, inverse)];
  },
});

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  return emit(Transpose, [x], { perm })[0];
}

/** Transposes the last two axes. */
export function swapLast(x: Tensor): Tensor {
  const perm = [...Array(x.rank).keys()];
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

const Unsqueeze = defineOp<[data: Tensor, axes: Tensor]>({
  type: 'Unsqueeze',
  since: 13,
  attrs: {},
  infer: ([x, axes]) => {
    const values = constValues(axes, 'Unsqueeze');
    const rank = x.rank + values.length;
    const ax = values.map((a) => normalizeAxis(a, rank));
    const dims: Dim[] = [];
    let src = 0;
    for (let i = 0; i < rank; i++) dims.push(ax.includes(i) ? 1 : x.shape[src++]);
    return [{ dtype: x.dtype, shape: dims }];
  },
  gradient: reshapeBack,
});

export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  return emit(Unsqueeze, [x, int64s(x, axes)], {})[0];
}

/** The static form (a symbolic batch included) of shape vectors computed at run time, for Expand's shape rule. */
const runtimeShapes = new WeakMap<Tensor, readonly Dim[]>();

const Expand = defineOp<[input: Tensor, shape: Tensor]>({
  type: 'Expand',
  since: 8,
  attrs: {},
  infer: ([x, shape]) => {
    const target = runtimeShapes.get(shape) ?? constValues(shape, 'Expand');
    const out = broadcastShapes(x.shape, target);
    if (!out) throw shapeError('Expand', `cannot expand to [${target}]`, x);
    return [{ dtype: x.dtype, shape: out }];
  },
  gradient: ({ inputs: [x] }, [dy], op) => [op.sumTo(dy, x.shape)],
});

/** Dims start..end-1 of x's shape, read at run time (Shape-15). */
const ShapeOf = defineOp<[x: Tensor], { start: number; end: number }>({
  type: 'Shape',
  since: 15,
  attrs: { start: 'int', end: 'int' },
  infer: (_x, { start, end }) => [{ dtype: 'int64', shape: [end - start] }],
});

/** A symbolic dim's value at run time, read from the first graph input that has it (the image's batch). */
function runtimeDim(like: Tensor, dim: string): Tensor {
  for (const input of like.graph.inputs) {
    const axis = input.shape.indexOf(dim);
    if (axis >= 0) return emit(ShapeOf, [input], { start: axis, end: axis + 1 })[0];
  }
  throw shapeError('Expand', `no graph input has the dim '${dim}'`, like);
}

/** x broadcast to `shape`; a symbolic dim (the batch of a cls token, `cls.expand(n, -1, -1)`) is read at run time. */
export function expand(x: Tensor, shape: readonly Dim[]): Tensor {
  if (shape.every((d): d is number => typeof d === 'number')) return emit(Expand, [x, int64s(x, shape)], {})[0];
  const target = concat(
    shape.map((d) => (typeof d === 'number' ? int64s(x, [d]) : runtimeDim(x, d))),
    0,
  );
  runtimeShapes.set(target, shape);
  return emit(Expand, [x, target], {})[0];
}

const Concat = defineOp<readonly Tensor[], { axis: number }>({
  type: 'Concat',
  since: 11,
  attrs: { axis: 'int' },
  infer: (ts, { axis }) => {
    const first = ts[0];
    const a = normalizeAxis(axis, first.rank);
    let total: Dim = 0;
    for (const t of ts) {
      const mismatch = t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i]);
      if (mismatch || t.dtype !== first.dtype) throw shapeError('Concat', `inputs disagree off axis ${axis}`, first, t);
      const d = t.shape[a];
      if (typeof d !== 'number' || typeof total !== 'number') throw shapeError('Concat', 'symbolic concat axis', t);
      total += d;
    }
    return [{ dtype: first.dtype, shape: first.shape.map((d, i) => (i === a ? total : d)) }];
  },
  gradient: ({ inputs, attrs: { axis } }, [dy], op) => {
    const a = normalizeAxis(axis, dy.rank);
    let start = 0;
    return inputs.map((t) => {
      const size = staticDim(t, a, 'Concat');
      const piece = op.slice(dy, [start], [start + size], [a]);
      start += size;
      return piece;
    });
  },
});

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  return emit(Concat, xs, { axis })[0];
}

/** ONNX Slice bounds for one axis of size d: clamped start and the element count. */
function sliceRange(d: number, start: number, end: number, step: number): [number, number] {
  const lo = step > 0 ? 0 : -1;
  const hi = step > 0 ? d : d - 1;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
  const s = clamp(start);
  const e = clamp(end);
  return [s, Math.max(Math.ceil((e - s) / step), 0)];
}

const Slice = defineOp<[data: Tensor, starts: Tensor, ends: Tensor, axes: Tensor, steps?: Tensor]>({
  type: 'Slice',
  since: 10,
  attrs: {},
  infer: ([t, starts, ends, axes, steps]) => {
    const s = constValues(starts, 'Slice');
    const e = constValues(ends, 'Slice');
    const st = steps ? constValues(steps, 'Slice') : s.map(() => 1);
    const dims = [...t.shape];
    constValues(axes, 'Slice').forEach((axis, i) => {
      const a = normalizeAxis(axis, t.rank);
      const d = t.shape[a];
      if (typeof d !== 'number') throw shapeError('Slice', `symbolic dim on sliced axis ${a}`, t);
      dims[a] = sliceRange(d, s[i], e[i], st[i])[1];
    });
    return [{ dtype: t.dtype, shape: dims }];
  },
  gradient: ({ inputs: [t, starts, ends, axes, steps] }, [dy], op) => {
    // Pad the gradient back into place with zeros (unit steps only).
    if (steps && constValues(steps, 'Slice').some((v) => v !== 1)) throw new Error('Slice: no gradient for steps != 1');
    const s = constValues(starts, 'Slice');
    const e = constValues(ends, 'Slice');
    const before = new Array<number>(t.rank).fill(0);
    const after = new Array<number>(t.rank).fill(0);
    constValues(axes, 'Slice').forEach((axis, i) => {
      const a = normalizeAxis(axis, t.rank);
      const d = staticDim(t, a, 'Slice');
      const [start, size] = sliceRange(d, s[i], e[i], 1);
      before[a] = start;
      after[a] = d - start - size;
    });
    return [op.pad(dy, [...before, ...after])];
  },
});

/** x[starts:ends:steps] along `axes`. */
export function slice(
  x: Tensor,
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[],
  steps?: readonly number[],
): Tensor {
  const [s, e, a] = [starts, ends, axes].map((v) => int64s(x, v));
  return emit(Slice, steps ? [x, s, e, a, int64s(x, steps)] : [x, s, e, a], {})[0];
}

const Pad = defineOp<[data: Tensor, pads: Tensor]>({
  type: 'Pad',
  since: 11,
  attrs: {},
  infer: ([t, pads]) => {
    const p = constValues(pads, 'Pad');
    if (p.length !== 2 * t.rank) throw shapeError('Pad', `needs ${2 * t.rank} pads, got ${p.length}`, t);
    const dims = t.shape.map((d, i) => {
      if (p[i] === 0 && p[i + t.rank] === 0) return d;
      if (typeof d !== 'number') throw shapeError('Pad', `symbolic dim on padded axis ${i}`, t);
      return d + p[i] + p[i + t.rank];
    });
    return [{ dtype: t.dtype, shape: dims }];
  },
  gradient: ({ inputs: [x, pads] }, [dy], op) => {
    const p = constValues(pads, 'Pad');
    const r = x.rank;
    const axes = [...Array(r).keys()].filter((i) => p[i] !== 0 || p[i + r] !== 0);
    const starts = axes.map((i) => p[i]);
    const ends = axes.map((i) => p[i] + staticDim(x, i, 'Pad'));
    return [op.slice(dy, starts, ends, axes)];
  },
});

/** Zero padding, ONNX order: all begins then all ends. Negative pads crop. */
export function pad(x: Tensor, pads: readonly number[]): Tensor {
  if (pads.every((p) => p === 0)) return x;
  return emit(Pad, [x, int64s(x, pads)], {})[0];
}

const DepthToSpace = defineOp<[input: Tensor], { blocksize: number; mode: string }>({
  type: 'DepthToSpace',
  since: 13,
  attrs: { blocksize: 'int', mode: 'string' },
  infer: ([x], { blocksize: b }) => {
    const channels = staticDim(x, 1, 'DepthToSpace');
    if (x.rank !== 4 || channels % (b * b) !== 0) throw shapeError('DepthToSpace', `expects [N, C*${b * b}, H, W]`, x);
    const times = (d: Dim) => (typeof d === 'number' ? d * b : d);
    return [{ dtype: x.dtype, shape: [x.shape[0], channels / (b * b), times(x.shape[2]), times(x.shape[3])] }];
  },
});

/**
 * [N, C*b*b, H, W] -> [N, C, H*b, W*b], channel c*b*b + i*b + j to the pixel (h*b + i, w*b + j)
 * (mode CRD). Emitted by Conv's strided input gradient only, so it has no gradient rule.
 */
export function depthToSpace(x: Tensor, blocksize: number): Tensor {
  return emit(DepthToSpace, [x], { blocksize, mode: 'CRD' })[0];
}

declare module '../builder.js' {
  interface Ops {
    identity: typeof identity;
    reshape: typeof reshape;
    flatten: typeof flatten;
    transpose: typeof transpose;
    swapLast: typeof swapLast;
    unsqueeze: typeof unsqueeze;
    expand: typeof expand;
    concat: typeof concat;
    slice: typeof slice;
    pad: typeof pad;
    depthToSpace: typeof depthToSpace;
  }
}
