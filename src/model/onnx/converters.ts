/**
 * One converter per ONNX op, as onnx2torch's `@add_converter` registers them: the attributes it
 * reads (with the specification's defaults), how it emits the op with this project's ops (which
 * carry gradients), and, for ops that shape computations use, how it folds known values at
 * import. Adding an op the importer takes is one entry here.
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import { type Dim, normalizeAxis, type Shape } from '../../graph/shape.js';
import { hardSigmoid, hardSwish } from '../layers/activation.js';
import { standardize } from '../layers/sample-norm.js';
import { constantValue, foldBinary, foldElementwise, foldSlice, unsqueezedShape } from './folding.js';
import { type AttributeSpecs, type Attributes, float, int, ints, parseAttributes, string } from './attributes.js';
import { type Direction, gru, lstm } from './recurrent.js';
import { castTarget, ImportError, type Known, type NodeP, numbers, type Value } from './values.js';

/** A node's inputs as a converter reads them. */
export interface NodeInputs {
  /** `Conv node 'conv1'`, for messages. */
  where: string;
  /** How many inputs the node lists (given or empty). */
  count: number;
  /** Whether input i is given. */
  has(i: number): boolean;
  /** Input i as a graph tensor (a known value becomes a graph constant). */
  t(i: number): Tensor;
  /** Input i as a value known at import (refused when it depends on the image). */
  k(i: number): Known;
  /** The forward's mode: BatchNorm and MaxPool emit differently when training. */
  mode: 'train' | 'eval';
}

export interface Converter {
  /** The node's outputs by position, emitted into the graph (absent: the op only folds). */
  emit?(node: NodeP, inputs: NodeInputs): Value[];
  /** The node's output when every input is known (absent: it does not fold). */
  fold?(node: NodeP, inputs: Known[], where: string): Known;
}

type Emit<A> = (args: NodeInputs & { attrs: A; node: NodeP }) => Value[];
type Fold<A> = (args: { inputs: Known[]; attrs: A; node: NodeP; where: string }) => Known;

/** A converter reading the attributes `spec` declares. */
function convert<S extends AttributeSpecs>(
  spec: S,
  { emit, fold }: { emit?: Emit<Attributes<S>>; fold?: Fold<Attributes<S>> },
): Converter {
  return {
    ...(emit && { emit: (node, inputs) => emit({ ...inputs, node, attrs: parseAttributes(node, spec) }) }),
    ...(fold && { fold: (node, inputs, where) => fold({ inputs, node, where, attrs: parseAttributes(node, spec) }) }),
  };
}

const unary = (f: (x: Tensor) => Tensor): Converter => convert({}, { emit: ({ t }) => [f(t(0))] });
const binary = (f: (a: Tensor, b: Tensor) => Tensor, type: string): Converter =>
  convert({}, { emit: ({ t }) => [f(t(0), t(1))], fold: ({ inputs: [a, b] }) => foldBinary(type, a, b) });

/**
 * A known value's shape after Reshape (0 copies a dim, -1 takes
 * the rest): `tensor.expand(n, -1, -1)` reshapes its shape vector.
 */
function reshapedShape(a: Known, target: number[], where: string): number[] {
  const dims = target.map((d, i) => (d === 0 ? a.shape[i] : d));
  const rest = dims.indexOf(-1);
  if (rest >= 0) dims[rest] = a.values.length / dims.reduce((n, d, i) => (i === rest ? n : n * d), 1);
  if (!dims.every(Number.isInteger) || dims.reduce((n, d) => n * d, 1) !== a.values.length) {
    throw new ImportError(`${where}: cannot reshape ${a.values.length} values to [${target}]`);
  }
  return dims;
}

const isDirection = (d: string): d is Direction => d === 'forward' || d === 'reverse' || d === 'bidirectional';

/**
 * LSTM or GRU: the forms nn.LSTM and nn.GRU export (either direction or both, default activations, no clip or
 * sequence lengths).
 */
function recurrentConverter(unroll: typeof lstm): Converter {
  return convert(
    {
      hidden_size: int(0),
      direction: string('forward'),
      clip: float(0),
      layout: int(0),
      input_forget: int(0),
      linear_before_reset: int(0),
    },
    {
      emit: ({ t, has, where, attrs, node }) => {
        const unsupported = [
          !isDirection(attrs.direction) && `direction ${attrs.direction}`,
          attrs.clip !== 0 && 'clip',
          attrs.layout !== 0 && 'layout 1',
          attrs.input_forget === 1 && 'input_forget',
          node.opType === 'GRU' && attrs.linear_before_reset === 0 && 'linear_before_reset 0 (PyTorch exports 1)',
          (node.attribute ?? []).some((a) => a.name === 'activations') && 'activations',
          has(4) && 'sequence_lens',
        ].filter(Boolean);
        if (unsupported.length) throw new ImportError(`${where}: ${unsupported.join(', ')} not supported`);
        const given = (i: number) => (has(i) ? t(i) : undefined);
        const [h, c] = node.opType === 'LSTM' ? [given(5), given(6)] : [given(5), undefined];
        const direction = isDirection(attrs.direction) ? attrs.direction : 'forward';
        return unroll(t(0), { w: t(1), r: t(2), b: given(3) }, attrs.hidden_size, { h, c }, direction);
      },
    },
  );
}

/**
 * The axes a node reduces or squeezes: its `axes` input (opset
 * 13+ for Squeeze/Unsqueeze, 18 for reductions) or attribute.
 */
function axesOf(inputs: NodeInputs, attribute: number[] | undefined, index = 1): number[] | undefined {
  return inputs.has(index) ? numbers(inputs.k(index), inputs.where) : attribute;
}

const squeezed = (shape: Shape, axes: number[] | undefined): Dim[] =>
  shape.filter((d, i) => !(axes ? axes.map((a) => normalizeAxis(a, shape.length)).includes(i) : d === 1));

const POOL = { kernel_shape: ints(), strides: ints(), pads: ints(), ceil_mode: int(0) };

/** Split's outputs: the `split` sizes given (an input from opset 13), else equal parts. */
function splitOutputs(inputs: NodeInputs, node: NodeP, axis: number): Tensor[] {
  const x = inputs.t(0);
  const a = normalizeAxis(axis, x.rank);
  const size = x.shape[a];
  if (typeof size !== 'number') throw new ImportError(`${inputs.where}: splits the batch axis`);
  const parts = (node.output ?? []).length;
  const chunk = Math.ceil(size / parts); // equal parts, the last one smaller when they cannot be equal
  const sizes = inputs.has(1)
    ? numbers(inputs.k(1), inputs.where)
    : Array.from({ length: parts }, (_, i) => (i < parts - 1 ? chunk : size - chunk * i));
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((sum, n) => sum + n, 0));
  return sizes.map((n, i) => op.slice(x, [starts[i]], [starts[i] + n], [a]));
}

export const CONVERTERS: Readonly<Record<string, Converter>> = {
  // Activations
  Relu: unary(op.relu),
  Sigmoid: unary(op.sigmoid),
  Tanh: unary(op.tanh),
  Softplus: unary(op.softplus),
  LeakyRelu: convert({ alpha: float(0.01) }, { emit: ({ t, attrs }) => [op.leakyRelu(t(0), attrs.alpha)] }),
  HardSigmoid: convert(
    { alpha: float(0.2), beta: float(0.5) },
    { emit: ({ t, attrs }) => [hardSigmoid(t(0), attrs.alpha, attrs.beta)] },
  ),
  HardSwish: unary(hardSwish),
  Clip: convert(
    {},
    {
      emit: ({ t, k, has }) => {
        const bound = (i: number) => (has(i) ? Number(k(i).values[0]) : undefined);
        return [op.clip(t(0), bound(1), bound(2))];
      },
    },
  ),
  // Arithmetic
  Add: binary(op.add, 'Add'),
  Sub: binary(op.sub, 'Sub'),
  Mul: binary(op.mul, 'Mul'),
  Div: binary(op.div, 'Div'),
  Neg: unary(op.neg),
  Exp: unary(op.exp),
  Sqrt: unary(op.sqrt),
  Erf: unary(op.erf),
  Pow: binary(op.pow, 'Pow'),
  MatMul: convert({}, { emit: ({ t }) => [op.matmul(t(0), t(1))] }),
  Gemm: convert(
    { alpha: float(1), beta: float(1), transA: int(0), transB: int(0) },
    {
      emit: ({ t, has, attrs }) => [
        op.gemm(
          t(0),
          t(1),
          { alpha: attrs.alpha, beta: attrs.beta, transA: attrs.transA === 1, transB: attrs.transB === 1 },
          has(2) ? t(2) : undefined,
        ),
      ],
    },
  ),
  ReduceMean: convert(
    { axes: ints(), keepdims: int(1) },
    {
      emit: (n) => {
        const x = n.t(0);
        const axes = axesOf(n, n.attrs.axes) ?? [...Array(x.rank).keys()];
        return [op.reduceMean(x, axes, n.attrs.keepdims === 1)];
      },
    },
  ),
  Equal: convert(
    {},
    {
      emit: ({ t }) => [op.equal(t(0), t(1))],
      fold: ({ inputs: [a, b] }) => foldElementwise([a, b], 'bool', (x, y) => Number(x === y)),
    },
  ),
  Where: convert(
    {},
    {
      emit: ({ t }) => [op.where(t(0), t(1), t(2))],
      fold: ({ inputs: [c, a, b] }) => foldElementwise([c, a, b], a.dtype, (x, y, z) => (x ? y : z)),
    },
  ),
  // Layers (a Conv, Gemm or BatchNormalization named as a PyTorch module's state becomes that module)
  Conv: convert(
    { pads: ints(), strides: ints(), dilations: ints(), group: int(1) },
    { emit: ({ t, has, attrs }) => [op.conv(t(0), t(1), has(2) ? t(2) : undefined, attrs)] },
  ),
  BatchNormalization: convert(
    { epsilon: float(1e-5) },
    {
      emit: ({ t, where, mode, attrs }) => {
        if (mode === 'eval') return [op.batchNormInference(t(0), t(1), t(2), t(3), t(4), attrs.epsilon)];
        throw new ImportError(
          `${where}: its statistics are not named as a BatchNorm module's (<name>.running_mean, ...), ` +
            `so it cannot be trained here`,
        );
      },
    },
  ),
  // Always a Dropout module (graph-module.ts), which masks when training; outside one it would pass x.
  Dropout: unary((x) => x),
  MaxPool: convert(
    { ...POOL, dilations: ints() },
    {
      emit: ({ t, where, mode, attrs }) => {
        if ((attrs.dilations ?? []).some((d) => d !== 1))
          throw new ImportError(`${where}: dilations are not supported`);
        const options = { strides: attrs.strides ?? [1, 1], pads: attrs.pads, ceilMode: attrs.ceil_mode === 1 };
        return [
          mode === 'train'
            ? op.maxPoolWithIndices(t(0), attrs.kernel_shape ?? [], options)
            : op.maxPool(t(0), attrs.kernel_shape ?? [], options),
        ];
      },
    },
  ),
  AveragePool: convert(
    { ...POOL, count_include_pad: int(0) },
    {
      emit: ({ t, where, attrs }) => {
        if (attrs.ceil_mode !== 0) throw new ImportError(`${where}: ceil_mode is not supported`);
        const options = {
          strides: attrs.strides ?? [1, 1],
          pads: attrs.pads ?? [0, 0, 0, 0],
          countIncludePad: attrs.count_include_pad === 1,
        };
        return [op.averagePool(t(0), attrs.kernel_shape ?? [], options)];
      },
    },
  ),
  GlobalAveragePool: unary(op.globalAveragePool),
  LogSoftmax: convert({ axis: int(-1) }, { emit: ({ t, attrs }) => [op.logSoftmax(t(0), attrs.axis)] }),
  Softmax: convert({ axis: int(-1) }, { emit: ({ t, attrs }) => [op.softmax(t(0), attrs.axis)] }),
  // Opset 17's LayerNormalization (nn.LayerNorm), as the layer writes it:
  // Y only (Mean and InvStdDev are training byproducts nothing reads).
  LayerNormalization: convert(
    { axis: int(-1), epsilon: float(1e-5), stash_type: int(1) },
    {
      emit: ({ t, has, where, attrs, node }) => {
        if ((node.output ?? []).slice(1).some((o) => o !== ''))
          throw new ImportError(`${where}: only the Y output is supported`);
        const x = t(0);
        const first = normalizeAxis(attrs.axis, x.rank);
        const y = op.mul(
          standardize(
            x,
            [...Array(x.rank - first).keys()].map((i) => first + i),
            attrs.epsilon,
          ),
          t(1),
        );
        return [has(2) ? op.add(y, t(2)) : y];
      },
    },
  ),
  // nn.LSTM and nn.GRU (one layer, one direction or both, as exported),
  // unrolled over the sequence; the initial state zeros or given.
  LSTM: recurrentConverter(lstm),
  GRU: recurrentConverter(gru),
  // Moving data
  Identity: convert({}, { emit: ({ t }) => [t(0)], fold: ({ inputs: [a] }) => a }),
  Pad: convert(
    { mode: string('constant') },
    {
      emit: ({ t, k, has, where, attrs }) => {
        if (attrs.mode !== 'constant') throw new ImportError(`${where}: only constant padding is supported`);
        if (has(2) && Number(k(2).values[0]) !== 0) throw new ImportError(`${where}: only zero padding is supported`);
        return [op.pad(t(0), numbers(k(1), where))];
      },
    },
  ),
  Flatten: convert({ axis: int(1) }, { emit: ({ t, attrs }) => [op.flatten(t(0), attrs.axis)] }),
  Reshape: convert(
    {},
    {
      emit: ({ t, k }) => [op.reshape(t(0), k(1).values)], // a symbolic dim (the batch, from Shape) keeps that dim
      fold: ({ inputs: [a, shape], where }) => ({ ...a, shape: reshapedShape(a, numbers(shape, where), where) }),
    },
  ),
  Squeeze: convert(
    { axes: ints() },
    {
      emit: (n) => {
        const x = n.t(0);
        return [op.reshape(x, squeezed(x.shape, axesOf(n, n.attrs.axes)))];
      },
      fold: ({ inputs: [a, axes], attrs, where }) => ({
        ...a,
        shape: squeezed(a.shape, axes ? numbers(axes, where) : attrs.axes) as number[],
      }),
    },
  ),
  Unsqueeze: convert(
    { axes: ints() },
    {
      emit: (n) => [op.unsqueeze(n.t(0), axesOf(n, n.attrs.axes) ?? [])],
      fold: ({ inputs: [a, axes], attrs, where }) => ({
        ...a,
        shape: unsqueezedShape(a.shape, (axes ? numbers(axes, where) : attrs.axes) ?? []),
      }),
    },
  ),
  Transpose: convert(
    { perm: ints() },
    { emit: ({ t, attrs }) => [op.transpose(t(0), attrs.perm ?? [...Array(t(0).rank).keys()].reverse())] },
  ),
  Concat: convert(
    { axis: int(0) },
    {
      emit: ({ t, count, attrs }) => [
        op.concat(
          Array.from({ length: count }, (_, i) => t(i)),
          attrs.axis,
        ),
      ],
      fold: ({ inputs }) => ({
        dtype: inputs[0].dtype,
        shape: [inputs.reduce((n, x) => n + x.values.length, 0)],
        values: inputs.flatMap((x) => x.values),
      }),
    },
  ),
  Slice: convert(
    {},
    {
      emit: ({ t, k, has, where }) => {
        const x = t(0);
        const [starts, ends] = [numbers(k(1), where), numbers(k(2), where)];
        const axes = has(3) ? numbers(k(3), where) : starts.map((_, i) => i);
        return [op.slice(x, starts, ends, axes, has(4) ? numbers(k(4), where) : undefined)];
      },
      fold: ({ inputs, where }) => foldSlice(inputs, where),
    },
  ),
  Split: convert({ axis: int(0) }, { emit: ({ node, attrs, ...inputs }) => splitOutputs(inputs, node, attrs.axis) }),
  // a symbolic dim (the batch) is read at run time
  Expand: convert({}, { emit: ({ t, k }) => [op.expand(t(0), k(1).values)] }),
  // Shape computations (x.view(x.size(0), -1) exports Shape -> Gather -> Unsqueeze -> Concat -> Reshape)
  Shape: convert(
    {},
    {
      emit: ({ t }) => [{ dtype: 'int64', shape: [t(0).rank], values: [...t(0).shape] }],
      fold: ({ inputs: [a] }) => ({ dtype: 'int64', shape: [a.shape.length], values: [...a.shape] }),
    },
  ),
  Constant: convert({}, { fold: ({ node }) => constantValue(node) }),
  ConstantOfShape: convert({}, { fold: ({ node, inputs: [shape] }) => constantOfShape(node, shape.values) }),
  Cast: convert(
    { to: int(1) },
    {
      emit: ({ t, attrs }) => [attrs.to === 1 ? t(0) : op.cast(t(0), castTarget(attrs.to))],
      fold: ({ inputs: [a], attrs }) => ({ ...a, dtype: attrs.to === 7 ? 'int64' : a.dtype }),
    },
  ),
  Gather: convert(
    { axis: int(0) },
    {
      // x[:, 0] (a ViT's cls token) and other constant indices: Slices
      // along the axis, concatenated (their gradients are the Slices').
      emit: ({ t, k, where, attrs }) => {
        const x = t(0);
        const axis = normalizeAxis(attrs.axis, x.rank);
        const size = x.shape[axis];
        if (typeof size !== 'number') throw new ImportError(`${where}: gathering along the batch is not supported`);
        const indices = k(1);
        const picked = numbers(indices, where).map((i) => {
          const at = i < 0 ? i + size : i;
          return op.slice(x, [at], [at + 1], [axis]);
        });
        const y = picked.length === 1 ? picked[0] : op.concat(picked, axis);
        const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
        return [op.reshape(y, shape)];
      },
      fold: ({ inputs: [a, b], attrs, where }) => {
        if (attrs.axis !== 0 || a.shape.length !== 1)
          throw new ImportError(`${where}: only gathers from a 1-D constant are folded`);
        const idx = numbers(b, where).map((i) => (i < 0 ? i + a.values.length : i));
        return { dtype: a.dtype, shape: b.shape, values: idx.map((i) => a.values[i]) };
      },
    },
  ),
};

/** ConstantOfShape: `shape` filled with the node's `value` (a one-element tensor; default float 0). */
function constantOfShape(node: NodeP, shape: Dim[]): Known {
  const value = (node.attribute ?? []).some((a) => a.name === 'value')
    ? constantValue(node)
    : { dtype: 'float32' as const, shape: [1], values: [0] };
  const dims = shape.filter((d): d is number => typeof d === 'number');
  // A symbolic dim (the batch): the value, expanded when used.
  if (dims.length < shape.length) return { dtype: value.dtype, shape: [], values: [value.values[0]], filled: shape };
  return { dtype: value.dtype, shape: dims, values: Array(dims.reduce((a, b) => a * b, 1)).fill(value.values[0]) };
}

/** The ops an imported graph may hold. */
export const SUPPORTED_OPS: readonly string[] = Object.keys(CONVERTERS).sort();
