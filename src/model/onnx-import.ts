/**
 * A model that PyTorch exported (`torch.onnx.export`, opsets 13-17) as a Network to train.
 *
 * The graph's nodes are emitted again, node by node, with this project's ops, which carry
 * gradient rules: so the imported model trains, exports and runs in the page like one written
 * with the layers. Its state is its initializers, under their own names: in a training-mode
 * export those are PyTorch's state_dict keys (`features.0.weight`, `bn.running_mean`), so
 * checkpoints load back into the PyTorch module. Float initializers that a node reads as
 * weights, biases or norm scales (of a Conv, Gemm, MatMul or BatchNormalization) are
 * parameters; a BatchNormalization's mean and variance are buffers; the rest are constants. A Conv, a
 * BatchNormalization, a Gemm (PyTorch's Linear) or a Dropout whose state is named like a
 * PyTorch module's (`<prefix>.weight`, ...) becomes that module (Conv2d, BatchNorm2d, Linear,
 * Dropout) at that prefix,
 * so that BatchNorm folds into its conv on export and the summary names the layers.
 *
 * Shape computations (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, which
 * `x.view(x.size(0), -1)` exports) are folded at import for the static image shape; the batch
 * stays symbolic and reaches Reshape as "keep this dim".
 */
import type onnxProto from 'onnx-proto';
import type { Tensor } from '../graph/builder.js';
import type { AnyTypedArray, DType } from '../graph/dtype.js';
import * as op from '../graph/ops/index.js';
import { parseModel } from '../graph/serialize.js';
import { type Dim, normalizeAxis, type Shape, ShapeError } from '../graph/shape.js';
import { TensorDataError, type TensorValues, tensorValues, toNumber } from '../graph/tensor-proto.js';
import { ExpectedError } from '../util/errors.js';
import { BatchNorm2d } from './layers/batch-norm.js';
import { Conv2d } from './layers/conv.js';
import { Dropout } from './layers/dropout.js';
import { Linear } from './layers/linear.js';
import { type Context, Module, Parameter, StateBuffer, type StateEntry } from './module.js';
import { Network, type StateDict } from './network.js';

type NodeP = onnxProto.onnx.INodeProto;
type AttributeP = onnxProto.onnx.IAttributeProto;

/** An ONNX model that cannot be imported; the message says why (the caller names the file). */
export class ImportError extends ExpectedError {}

export const OPSETS = { min: 13, max: 17 } as const;

/** The ops an imported graph may hold: what PyTorch's exporter writes for the common layers. */
export const SUPPORTED_OPS = [
  'Add',
  'AveragePool',
  'BatchNormalization',
  'Cast',
  'Clip',
  'Concat',
  'Constant',
  'Conv',
  'Div',
  'Dropout',
  'Flatten',
  'Gather',
  'Gemm',
  'GlobalAveragePool',
  'Identity',
  'LeakyRelu',
  'LogSoftmax',
  'MatMul',
  'MaxPool',
  'Mul',
  'Pad',
  'Relu',
  'Reshape',
  'Shape',
  'Sigmoid',
  'Softmax',
  'Squeeze',
  'Sub',
  'Tanh',
  'Transpose',
  'Unsqueeze',
] as const;

/**
 * A value known at import: an int64 shape or index vector, or a small float constant. Symbolic
 * dims (the batch) appear as their name.
 */
interface Known {
  dtype: DType;
  shape: number[];
  values: (number | string)[];
}

type Value = Tensor | Known;
const isKnown = (v: Value): v is Known => !(v && typeof (v as Tensor).graph === 'object');

// ---- attributes and constants --------------------------------------------------------------

function attribute(node: NodeP, name: string): AttributeP | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
const intAttr = (node: NodeP, name: string, fallback: number): number => {
  const a = attribute(node, name);
  return a?.i !== undefined && a.i !== null ? toNumber(a.i) : fallback;
};
const floatAttr = (node: NodeP, name: string, fallback: number): number => attribute(node, name)?.f ?? fallback;
const intsAttr = (node: NodeP, name: string): number[] | undefined => {
  const a = attribute(node, name);
  return a && (a.ints ?? []).length > 0 ? (a.ints ?? []).map(toNumber) : undefined;
};
const stringAttr = (node: NodeP, name: string): string | undefined => {
  const s = attribute(node, name)?.s;
  return s?.length ? new TextDecoder().decode(s) : undefined;
};

function known(v: TensorValues): Known {
  const values = v.data instanceof BigInt64Array ? Array.from(v.data, Number) : Array.from(v.data as Exclude<AnyTypedArray, BigInt64Array>);
  return { dtype: v.dtype, shape: v.dims, values };
}

/** A Constant node's value (its `value` tensor, or one of the scalar/list forms). */
function constantValue(node: NodeP): Known {
  const a = (node.attribute ?? [])[0];
  if (!a) throw new ImportError(`Constant node '${node.name}' has no value`);
  if (a.t) return known(tensorValues(a.t));
  if (a.name === 'value_float') return { dtype: 'float32', shape: [], values: [a.f ?? 0] };
  if (a.name === 'value_floats') return { dtype: 'float32', shape: [(a.floats ?? []).length], values: [...(a.floats ?? [])] };
  if (a.name === 'value_int') return { dtype: 'int64', shape: [], values: [toNumber(a.i ?? 0)] };
  if (a.name === 'value_ints') return { dtype: 'int64', shape: [(a.ints ?? []).length], values: (a.ints ?? []).map(toNumber) };
  throw new ImportError(`Constant node '${node.name}' has a ${a.name} value, which is not supported`);
}

const numbers = (k: Known, what: string): number[] => {
  if (k.values.some((v) => typeof v !== 'number')) throw new ImportError(`${what} depends on the batch size, which is not fixed`);
  return k.values as number[];
};

// ---- the module ------------------------------------------------------------------------------

/** What the importer made of a node: a layer module, or an op emitted in place. */
type Step = { node: NodeP; module?: Module };

/** The common prefix of state_dict-style names `<prefix>.<local>` for the given locals, if they all have one. */
function modulePrefix(names: (string | undefined)[], locals: string[]): string | undefined {
  const prefixes = names.map((n, i) => (n?.endsWith(`.${locals[i]}`) ? n.slice(0, -locals[i].length - 1) : undefined));
  const [first] = prefixes;
  return first && !first.includes('::') && prefixes.every((p) => p === first) ? first : undefined;
}

class OnnxGraphModule extends Module {
  readonly children = new Map<string, Module>();
  /** Initializers that no layer module took: parameters and buffers by name, the rest constants. */
  readonly looseState = new Map<string, StateEntry>();
  private readonly steps: Step[] = [];

  constructor(
    private readonly nodes: readonly NodeP[],
    readonly initializers: ReadonlyMap<string, TensorValues>,
    private readonly inputName: string,
    readonly outputName: string,
  ) {
    super();
    const uses = new Map<string, number>();
    for (const n of nodes) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
    const trainable = new Set<string>();
    const buffers = new Set<string>();
    const fixedFloat = (name: string | undefined) => (name && initializers.get(name)?.dtype === 'float32' ? name : undefined);
    for (const node of nodes) {
      const ins = node.input ?? [];
      switch (node.opType) {
        case 'Conv':
        case 'Gemm':
        case 'MatMul':
          for (const n of ins) if (fixedFloat(n)) trainable.add(n);
          break;
        case 'BatchNormalization':
          for (const n of [ins[1], ins[2]]) if (fixedFloat(n)) trainable.add(n);
          for (const n of [ins[3], ins[4]]) if (fixedFloat(n)) buffers.add(n);
          break;
        // Elsewhere (an Add or a Mul, say) a float initializer stays a constant: the file does not
        // tell a parameter from a buffer that PyTorch registered, and a buffer must not train.
      }
    }
    let dropouts = 0;
    for (const node of nodes) {
      const type = node.opType ?? '';
      const ins = node.input ?? [];
      const step: Step = { node };
      if (type === 'Conv') step.module = this.convModule(node, trainable, uses);
      else if (type === 'Gemm') step.module = this.linearModule(node, trainable, uses);
      else if (type === 'BatchNormalization') step.module = this.batchNormModule(node, buffers, uses);
      else if (type === 'Dropout') {
        step.module = new Dropout(this.dropoutRatio(node));
        this.children.set(`dropout${dropouts === 0 ? '' : `_${dropouts}`}`, step.module);
        dropouts++;
      }
      this.steps.push(step);
      for (const n of ins) {
        if (!initializers.has(n) || this.taken.has(n) || this.looseState.has(n)) continue;
        const values = initializers.get(n)!;
        const init = () => Float32Array.from(values.data as Float32Array);
        if (trainable.has(n)) this.looseState.set(n, new Parameter(values.dims, init));
        else if (buffers.has(n)) this.looseState.set(n, new StateBuffer(values.dims, init));
      }
    }
  }

  /** Initializers that a layer module holds (as its weight, bias, ...). */
  private readonly taken = new Set<string>();

  private convModule(node: NodeP, trainable: Set<string>, uses: Map<string, number>): Module | undefined {
    const [, w, b] = node.input ?? [];
    const weight = this.initializers.get(w);
    if (!weight || !trainable.has(w) || weight.dims.length !== 4 || (uses.get(w) ?? 0) > 1) return undefined;
    const prefix = modulePrefix(b ? [w, b] : [w], ['weight', 'bias']);
    const pads = intsAttr(node, 'pads') ?? [0, 0, 0, 0];
    const [kh, kw] = intsAttr(node, 'kernel_shape') ?? weight.dims.slice(2);
    if (!prefix || pads[0] !== pads[2] || pads[1] !== pads[3] || kh !== weight.dims[2] || kw !== weight.dims[3] || this.children.has(prefix)) return undefined;
    const group = intAttr(node, 'group', 1);
    const conv = new Conv2d(weight.dims[1] * group, weight.dims[0], [kh, kw], {
      stride: (intsAttr(node, 'strides') ?? [1, 1]) as [number, number],
      padding: [pads[0], pads[1]],
      dilation: (intsAttr(node, 'dilations') ?? [1, 1]) as [number, number],
      groups: group,
      bias: b !== undefined && b !== '',
    });
    this.children.set(prefix, conv);
    this.taken.add(w);
    if (b) this.taken.add(b);
    return conv;
  }

  /** PyTorch's Linear exports Gemm(x, W, b, transB=1). */
  private linearModule(node: NodeP, trainable: Set<string>, uses: Map<string, number>): Module | undefined {
    const [, w, b] = node.input ?? [];
    const weight = this.initializers.get(w);
    const plain = intAttr(node, 'transA', 0) === 0 && intAttr(node, 'transB', 0) === 1 && floatAttr(node, 'alpha', 1) === 1 && floatAttr(node, 'beta', 1) === 1;
    if (!plain || !weight || !trainable.has(w) || weight.dims.length !== 2 || [w, b].some((n) => n && (uses.get(n) ?? 0) > 1)) return undefined;
    const bias = b ? this.initializers.get(b) : undefined;
    const prefix = modulePrefix(b ? [w, b] : [w], ['weight', 'bias']);
    if (!prefix || (b && (!bias || bias.dims.join() !== String(weight.dims[0]))) || this.children.has(prefix)) return undefined;
    const linear = new Linear(weight.dims[1], weight.dims[0], { bias: b !== undefined && b !== '' });
    this.children.set(prefix, linear);
    this.taken.add(w);
    if (b) this.taken.add(b);
    return linear;
  }

  private batchNormModule(node: NodeP, buffers: Set<string>, uses: Map<string, number>): Module | undefined {
    const [, scale, bias, mean, variance] = node.input ?? [];
    const prefix = modulePrefix([scale, bias, mean, variance], ['weight', 'bias', 'running_mean', 'running_var']);
    const c = this.initializers.get(scale)?.dims;
    if (!prefix || !c || c.length !== 1 || !buffers.has(mean) || this.children.has(prefix) || [scale, bias, mean, variance].some((n) => (uses.get(n) ?? 0) > 1))
      return undefined;
    // ONNX's momentum keeps that much of the running value; PyTorch's takes that much of the batch's.
    const bn = new BatchNorm2d(c[0], { eps: floatAttr(node, 'epsilon', 1e-5), momentum: 1 - floatAttr(node, 'momentum', 0.9) });
    this.children.set(prefix, bn);
    for (const n of [scale, bias, mean, variance]) this.taken.add(n);
    return bn;
  }

  private dropoutRatio(node: NodeP): number {
    const ratio = node.input?.[1];
    if (!ratio) return 0.5;
    const init = this.initializers.get(ratio);
    const fromConstant = this.nodes.find((n) => n.opType === 'Constant' && n.output?.[0] === ratio);
    const value = init ? known(init) : fromConstant ? constantValue(fromConstant) : undefined;
    if (!value) throw new ImportError(`Dropout node '${node.name}': its ratio is not a constant`);
    return Number(value.values[0]);
  }

  override get kind(): string {
    return 'OnnxGraph';
  }

  override describe(): string {
    return `ONNX graph of ${this.nodes.length} nodes`;
  }

  override namedChildren(): [string, Module][] {
    return [...this.children];
  }

  override namedState(): [string, StateEntry][] {
    const entries = [...this.looseState];
    return [...entries.filter(([, e]) => e.trainable), ...entries.filter(([, e]) => !e.trainable)];
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const values = new Map<string, Value>([[this.inputName, x]]);
    for (const [name, v] of this.initializers) {
      const entry = this.looseState.get(name);
      if (entry) values.set(name, ctx.value(entry));
      else if (!this.taken.has(name)) values.set(name, known(v));
    }
    for (const { node, module } of this.steps) {
      let outs: (Value | undefined)[];
      try {
        outs = emitNode(node, module, values, ctx);
      } catch (e) {
        // Shapes that do not fit, said of the node (a layer module's own check names the layer instead).
        if (e instanceof ShapeError) throw new ImportError(`${node.opType} node '${node.name}': ${e.message}`);
        throw e;
      }
      for (const [i, name] of (node.output ?? []).entries()) if (name && outs[i] !== undefined) values.set(name, outs[i]!);
    }
    const out = values.get(this.outputName);
    if (!out || isKnown(out)) throw new ImportError(`the graph output '${this.outputName}' does not depend on the input`);
    return out;
  }
}

// ---- emitting one node ---------------------------------------------------------------------

/** A graph tensor for a value: known constants become graph constants of the other operand's graph. */
function tensorOf(v: Value, like: Tensor, what: string): Tensor {
  if (!isKnown(v)) return v;
  if (v.values.some((x) => typeof x !== 'number')) throw new ImportError(`${what}: a value that depends on the batch size is used as data`);
  const dtype = v.dtype === 'float64' ? like.dtype : v.dtype;
  return like.graph.constant(dtype, v.shape, v.values as number[]);
}

/** Numpy-style elementwise arithmetic on known values (shape computations). */
function foldBinary(type: string, a: Known, b: Known): Known {
  const f = {
    Add: (x: number, y: number) => x + y,
    Sub: (x: number, y: number) => x - y,
    Mul: (x: number, y: number) => x * y,
    Div: (x: number, y: number) => (a.dtype === 'int64' ? Math.trunc(x / y) : x / y),
  }[type];
  if (!f) throw new ImportError(`cannot fold ${type}`);
  const [big, small] = a.values.length >= b.values.length ? [a, b] : [b, a];
  if (small.values.length !== 1 && small.values.length !== big.values.length)
    throw new ImportError(`${type} of constants of shapes [${a.shape}] and [${b.shape}]`);
  const values = big.values.map((_, i) => {
    const [x, y] = [a.values.length === 1 ? a.values[0] : a.values[i], b.values.length === 1 ? b.values[0] : b.values[i]];
    if (typeof x !== 'number' || typeof y !== 'number') throw new ImportError(`${type} on a value that depends on the batch size`);
    return f(x, y);
  });
  return { dtype: a.dtype, shape: big.shape, values };
}

function axesOf(node: NodeP, values: Map<string, Value>, index: number): number[] | undefined {
  const fromInput = node.input?.[index];
  if (fromInput) {
    const v = values.get(fromInput);
    if (!v || !isKnown(v)) throw new ImportError(`${node.opType} node '${node.name}': its axes are not constant`);
    return numbers(v, `${node.opType} node '${node.name}'`);
  }
  return intsAttr(node, 'axes');
}

const squeezed = (shape: Shape, axes: number[] | undefined): Dim[] =>
  shape.filter((d, i) => !(axes ? axes.map((a) => normalizeAxis(a, shape.length)).includes(i) : d === 1));

/** Emits (or folds) one node; returns its outputs by position. */
function emitNode(node: NodeP, module: Module | undefined, values: Map<string, Value>, ctx: Context): (Value | undefined)[] {
  const type = node.opType ?? '';
  const where = `${type} node '${node.name}'`;
  // A layer module holds its weights itself: it reads only the data input.
  const names = module ? (node.input ?? []).slice(0, 1) : (node.input ?? []);
  const inputs = names.map((n) => (n ? values.get(n) : undefined));
  names.forEach((n, i) => {
    if (n && inputs[i] === undefined) throw new ImportError(`${where}: its input '${n}' is not computed before it`);
  });
  const tensorInputs = inputs.filter((v): v is Tensor => v !== undefined && !isKnown(v));
  const like = tensorInputs[0];
  const t = (i: number): Tensor => {
    const v = inputs[i];
    if (v === undefined) throw new ImportError(`${where}: input ${i} is missing`);
    if (!like) throw new ImportError(`${where}: no input depends on the image`);
    return tensorOf(v, like, where);
  };
  const k = (i: number): Known => {
    const v = inputs[i];
    if (!v || !isKnown(v)) throw new ImportError(`${where}: input ${i} must be a constant`);
    return v;
  };

  if (module) return [module.call(t(0), ctx)];
  // Nodes of constants only are shape computations: fold them here.
  if (!like) return [foldNode(node, inputs as Known[], where)];

  switch (type) {
    case 'Identity':
      return [t(0)];
    case 'Relu':
      return [op.relu(t(0))];
    case 'LeakyRelu':
      return [op.leakyRelu(t(0), floatAttr(node, 'alpha', 0.01))];
    case 'Sigmoid':
      return [op.sigmoid(t(0))];
    case 'Tanh':
      return [op.tanh(t(0))];
    case 'Clip': {
      const bound = (i: number) => (inputs[i] ? Number(k(i).values[0]) : undefined);
      return [op.clip(t(0), bound(1), bound(2))];
    }
    case 'Add':
      return [op.add(t(0), t(1))];
    case 'Sub':
      return [op.sub(t(0), t(1))];
    case 'Mul':
      return [op.mul(t(0), t(1))];
    case 'Div':
      return [op.div(t(0), t(1))];
    case 'MatMul':
      return [op.matmul(t(0), t(1))];
    case 'Gemm':
      return [
        op.gemm(
          t(0),
          t(1),
          {
            alpha: floatAttr(node, 'alpha', 1),
            beta: floatAttr(node, 'beta', 1),
            transA: intAttr(node, 'transA', 0) === 1,
            transB: intAttr(node, 'transB', 0) === 1,
          },
          inputs[2] ? t(2) : undefined,
        ),
      ];
    case 'Conv': {
      const w = t(1);
      return [
        op.conv(t(0), w, inputs[2] ? t(2) : undefined, {
          pads: intsAttr(node, 'pads'),
          strides: intsAttr(node, 'strides'),
          dilations: intsAttr(node, 'dilations'),
          group: intAttr(node, 'group', 1),
        }),
      ];
    }
    case 'BatchNormalization': {
      const [scale, bias, mean, variance] = [1, 2, 3, 4].map(t);
      const eps = floatAttr(node, 'epsilon', 1e-5);
      if (ctx.mode === 'eval') return [op.batchNormInference(t(0), scale, bias, mean, variance, eps)];
      throw new ImportError(`${where}: its statistics are not named as a BatchNorm module's (<name>.running_mean, ...), so it cannot be trained here`);
    }
    case 'MaxPool': {
      if (intAttr(node, 'ceil_mode', 0) !== 0 || (intsAttr(node, 'dilations') ?? [1, 1]).some((d) => d !== 1))
        throw new ImportError(`${where}: ceil_mode and dilations are not supported`);
      const kernel = intsAttr(node, 'kernel_shape') ?? [];
      const options = { strides: intsAttr(node, 'strides') ?? [1, 1], pads: intsAttr(node, 'pads') };
      return [ctx.mode === 'train' ? op.maxPoolWithIndices(t(0), kernel, options) : op.maxPool(t(0), kernel, options)];
    }
    case 'AveragePool': {
      if (intAttr(node, 'ceil_mode', 0) !== 0) throw new ImportError(`${where}: ceil_mode is not supported`);
      const kernel = intsAttr(node, 'kernel_shape') ?? [];
      return [
        op.averagePool(t(0), kernel, {
          strides: intsAttr(node, 'strides') ?? [1, 1],
          pads: intsAttr(node, 'pads') ?? [0, 0, 0, 0],
          countIncludePad: intAttr(node, 'count_include_pad', 0) === 1,
        }),
      ];
    }
    case 'GlobalAveragePool':
      return [op.globalAveragePool(t(0))];
    case 'Pad': {
      if ((stringAttr(node, 'mode') ?? 'constant') !== 'constant') throw new ImportError(`${where}: only constant padding is supported`);
      if (inputs[2] && Number(k(2).values[0]) !== 0) throw new ImportError(`${where}: only zero padding is supported`);
      return [op.pad(t(0), numbers(k(1), where))];
    }
    case 'Flatten':
      return [op.flatten(t(0), intAttr(node, 'axis', 1))];
    case 'Reshape':
      return [op.reshape(t(0), k(1).values)]; // a symbolic dim (the batch, from Shape) keeps that dim

    case 'Squeeze': {
      const x = t(0);
      return [op.reshape(x, squeezed(x.shape, axesOf(node, values, 1)))];
    }
    case 'Unsqueeze':
      return [op.unsqueeze(t(0), axesOf(node, values, 1) ?? [])];
    case 'Transpose':
      return [op.transpose(t(0), intsAttr(node, 'perm') ?? [...Array(t(0).rank).keys()].reverse())];
    case 'Concat':
      return [
        op.concat(
          inputs.map((_, i) => t(i)),
          intAttr(node, 'axis', 0),
        ),
      ];
    case 'LogSoftmax':
      return [op.logSoftmax(t(0), intAttr(node, 'axis', -1))];
    case 'Softmax':
      return [op.softmax(t(0), intAttr(node, 'axis', -1))];
    case 'Shape':
      return [{ dtype: 'int64', shape: [t(0).rank], values: [...t(0).shape] }];
    case 'Cast': {
      const to = intAttr(node, 'to', 1);
      return [to === 1 ? t(0) : op.cast(t(0), to === 7 ? 'int64' : 'float32')];
    }
    default:
      throw new ImportError(`${where} is not supported here`);
  }
}

/** A node whose inputs are all known, evaluated at import. */
function foldNode(node: NodeP, inputs: Known[], where: string): Known {
  const type = node.opType ?? '';
  const [a, b] = inputs;
  switch (type) {
    case 'Constant':
      return constantValue(node);
    case 'Identity':
      return a;
    case 'Cast':
      return { ...a, dtype: intAttr(node, 'to', 1) === 7 ? 'int64' : a.dtype };
    case 'Gather': {
      const axis = intAttr(node, 'axis', 0);
      if (axis !== 0 || a.shape.length !== 1) throw new ImportError(`${where}: only gathers from a 1-D constant are folded`);
      const idx = numbers(b, where).map((i) => (i < 0 ? i + a.values.length : i));
      return { dtype: a.dtype, shape: b.shape, values: idx.map((i) => a.values[i]) };
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = inputs[1] ? numbers(inputs[1], where) : intsAttr(node, 'axes');
      const rank = type === 'Unsqueeze' ? a.shape.length + (axes ?? []).length : a.shape.length;
      const shape =
        type === 'Unsqueeze'
          ? (() => {
              const ax = (axes ?? []).map((x) => normalizeAxis(x, rank));
              let src = 0;
              return [...Array(rank).keys()].map((i) => (ax.includes(i) ? 1 : a.shape[src++]));
            })()
          : (squeezed(a.shape, axes) as number[]);
      return { ...a, shape };
    }
    case 'Concat':
      return { dtype: a.dtype, shape: [inputs.reduce((n, x) => n + x.values.length, 0)], values: inputs.flatMap((x) => x.values) };
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return foldBinary(type, a, b);
    default:
      throw new ImportError(`${where} on constants only cannot be folded here`);
  }
}

// ---- the whole model -------------------------------------------------------------------------

export interface ImportedModel {
  net: Network;
  /** The opset the file imports for the default domain. */
  opset: number;
}

function defaultOpset(model: onnxProto.onnx.ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry?.version === undefined || entry.version === null ? 0 : toNumber(entry.version);
}

/** `[C, H, W]` of the graph input, from its declared shape (the batch may be symbolic). */
function inputShapeOf(input: onnxProto.onnx.IValueInfoProto): number[] {
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  if (input.type?.tensorType?.elemType !== 1) throw new ImportError(`its input '${input.name}' is not float32`);
  if (dims.length !== 4) throw new ImportError(`its input '${input.name}' has ${dims.length} dims; an image batch has 4 ([N, C, H, W])`);
  const rest = dims.slice(1).map((d) => (d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : NaN));
  if (rest.some((d) => !(d > 0))) throw new ImportError(`its input '${input.name}' must have fixed C, H and W`);
  return rest;
}

/** Every node the importer cannot train, in one line: the first by name, then the other kinds with a node of each. */
function unsupportedMessage(nodes: readonly NodeP[]): string {
  const kind = (n: NodeP) => `${n.domain ? `${n.domain}.` : ''}${n.opType}`;
  const [first, ...rest] = nodes;
  const others = new Map<string, { name: string; count: number }>();
  for (const n of rest) {
    const k = kind(n);
    if (k === kind(first)) continue;
    const seen = others.get(k);
    if (seen) seen.count++;
    else others.set(k, { name: n.name ?? '', count: 1 });
  }
  const also = [...others].map(([k, { name, count }]) => `${k} (node '${name}'${count > 1 ? ` and ${count - 1} more` : ''})`);
  const sameKind = rest.length - [...others.values()].reduce((n, o) => n + o.count, 0);
  return (
    `node '${first.name}': ${kind(first)} cannot be trained here${sameKind > 0 ? ` (nor ${sameKind} more ${kind(first)} node${sameKind > 1 ? 's' : ''})` : ''}` +
    `${also.length ? `; nor can ${also.join(', ')}` : ''} (supported: ${SUPPORTED_OPS.join(', ')})`
  );
}

/** Why a node's attributes are not valid ONNX (strides of 0, a kernel_shape its weight disagrees with), or undefined. */
function attributeProblem(node: NodeP, initializers: ReadonlyMap<string, TensorValues>): string | undefined {
  if (!['Conv', 'MaxPool', 'AveragePool'].includes(node.opType ?? '')) return undefined;
  for (const attr of ['kernel_shape', 'strides', 'dilations']) {
    const values = intsAttr(node, attr);
    if (values?.some((v) => !(v >= 1))) return `${attr} [${values}] must be positive`;
  }
  const kernel = intsAttr(node, 'kernel_shape');
  const weight = node.opType === 'Conv' ? initializers.get(node.input?.[1] ?? '') : undefined;
  if (kernel && weight && kernel.join() !== weight.dims.slice(2).join()) return `kernel_shape [${kernel}] disagrees with its weight, [${weight.dims}]`;
  return undefined;
}

/**
 * An ONNX model's bytes as a Network named `name`, its state initialised from the file's
 * initializers. Throws an ImportError (one line, without the file name) for what cannot be imported.
 */
export function importOnnx(bytes: Uint8Array | onnxProto.onnx.ModelProto, name: string): ImportedModel {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = bytes instanceof Uint8Array ? parseModel(bytes) : bytes;
  } catch (e) {
    throw new ImportError(`not an ONNX model (${(e as Error).message.split('\n')[0]})`);
  }
  const graph = model.graph;
  if (!graph) throw new ImportError('not an ONNX model (no graph)');
  const opset = defaultOpset(model);
  if (opset < OPSETS.min || opset > OPSETS.max)
    throw new ImportError(`opset ${opset}: models of opsets ${OPSETS.min} to ${OPSETS.max} can be imported (torch.onnx.export(..., opset_version=17))`);
  const nodes = graph.node ?? [];
  const unsupported = nodes.filter((n) => !(SUPPORTED_OPS as readonly string[]).includes(n.opType ?? '') || (n.domain && n.domain !== 'ai.onnx'));
  if (unsupported.length > 0) throw new ImportError(unsupportedMessage(unsupported));
  const initializers = new Map<string, TensorValues>();
  for (const t of graph.initializer ?? []) {
    if (initializers.has(t.name ?? '')) throw new ImportError(`two initializers are named '${t.name}': not a valid ONNX model`);
    try {
      initializers.set(t.name ?? '', tensorValues(t));
    } catch (e) {
      throw e instanceof TensorDataError ? new ImportError(e.message.replace(/^tensor/, 'initializer')) : e;
    }
  }
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  if (inputs.length !== 1) throw new ImportError(`it has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); an image classifier has one`);
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) throw new ImportError(`it has ${outputs.length} outputs; an image classifier has one, [N, classes]`);
  const inputShape = inputShapeOf(inputs[0]);
  for (const [n, v] of initializers) if (v.dtype === 'float64') throw new ImportError(`initializer '${n}' is float64; export the model in float32`);
  for (const node of nodes) {
    const problem = attributeProblem(node, initializers);
    if (problem) throw new ImportError(`${node.opType} node '${node.name}': ${problem}`);
  }
  const root = new OnnxGraphModule(nodes, initializers, inputs[0].name ?? '', outputs[0].name ?? '');
  const net = new Network(name, root, inputShape);
  const initial: StateDict = new Map();
  for (const spec of net.stateSpecs) {
    const v = initializers.get(spec.name);
    if (!v) throw new ImportError(`the state entry '${spec.name}' has no initializer`);
    const data = Float32Array.from(v.data as Float32Array);
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new ImportError(`initializer '${spec.name}' holds ${data[bad]} (element ${bad}): the model cannot start from it`);
    initial.set(spec.name, { shape: spec.shape, data });
  }
  if (net.parameterCount === 0) throw new ImportError('it has no trainable initializer (weights, biases or norm scales)');
  return { net: net.withInitialState(initial), opset };
}
