/**
 * The graph builder: typed tensor handles, node emission with shape inference, and the tape
 * of emitted nodes that autodiff walks backwards. Serialisation lives in `serialize.ts`.
 */
import { type AnyTypedArray, type DType, typedArray } from './dtype.js';
import { formatShape, isStatic, normalizeAxis, numel, type Shape, ShapeError } from './shape.js';
import { ExpectedError } from '../util/errors.js';

export type AttrType = 'int' | 'ints' | 'float' | 'floats' | 'string';
export type AttrValue = number | readonly number[] | string;
/**
 * The constraint on an op's own attribute type (an interface, no index signature): every
 * property an attribute value; optional ones are left out of the node when undefined.
 */
export type AttrsOf<A> = { readonly [K in keyof A]: AttrValue | undefined };
/** The attributes of an op that has none. */
export type NoAttrs = Record<string, never>;
/** Attributes with their op's type forgotten, as serialisation reads them. */
export type AnyAttrs = Readonly<Record<string, AttrValue | undefined>>;
type AttrTypeOf<V> = V extends string
  ? 'string'
  : V extends readonly number[]
    ? 'ints' | 'floats'
    : V extends number
      ? 'int' | 'float'
      : never;
/** The ONNX type of each attribute; it must agree with the attribute's TypeScript type. */
export type AttrSchema<A> = { readonly [K in keyof A]-?: AttrTypeOf<Exclude<A[K], undefined>> };

/**
 * An op's inputs by position, as a tuple: `Tensor` where ONNX requires one, an optional
 * element (`b?: Tensor`) where it may be left out. `emit` checks calls against it, so rules
 * receive defined tensors wherever the op guarantees them.
 */
export type Inputs = readonly (Tensor | undefined)[];
/** An op's outputs as a tuple; optional elements are trailing outputs `outputCount` may drop. */
export type Outputs = readonly (Tensor | undefined)[];
/** The output specs a shape rule returns: one per output. */
export type OutputSpecs<Out extends Outputs> = { [K in keyof Out]: OutputSpec };

/**
 * The gradients flowing into a node's outputs: undefined where none flows. A single-output
 * op always has its one, since autodiff only asks rules of nodes that receive some gradient.
 */
export type OutputGradients<Out extends Outputs> = Out extends readonly [Tensor]
  ? readonly [dy: Tensor]
  : { readonly [K in keyof Out]: Tensor | undefined };
/** One gradient per input, by position; left out or undefined where none flows. */
export type InputGradients<In extends Inputs> = { readonly [K in keyof In]?: Tensor };

export interface OutputSpec {
  dtype: DType;
  shape: Shape;
}

/** One emitted node with its op's own types: what a gradient rule receives, and `nodeOf` gives back. */
export interface OpNode<In extends Inputs, A extends AttrsOf<A>, Out extends Outputs> {
  readonly op: OpDef<In, A, Out>;
  readonly name: string;
  readonly inputs: In;
  readonly outputs: Out;
  readonly attrs: A;
}

/** What every op tells whatever its types: its name, its opset, its attributes' ONNX types. */
export interface OpInfo {
  readonly type: string;
  /** The opset from which the op has the form emitted here (inputs, attributes, semantics). */
  readonly since: number;
  readonly attrs: Readonly<Record<string, AttrType>>;
}

/**
 * One node on the tape, its op's types forgotten: what autodiff, serialisation and lowerings read.
 * The op's gradient rule comes bound to the node's own typed values, so nothing is called with
 * values of another op's types.
 */
export interface Node {
  readonly op: OpInfo;
  readonly name: string;
  readonly inputs: Inputs;
  readonly outputs: readonly Tensor[];
  readonly attrs: AnyAttrs;
  /**
   * The op's gradient rule for this node, given one gradient (or undefined) per output;
   * undefined where the op has none.
   */
  readonly gradient: ((dys: readonly (Tensor | undefined)[], op: Ops) => InputGradients<Inputs>) | undefined;
}

/**
 * The op functions a gradient rule emits with (`op.mul(dy, ...)`): autodiff passes the namespace
 * of ops/index.ts at call time, so that op files never import each other. Each op file declares
 * its own functions here, next to them (`declare module '../builder.js' { interface Ops ... }`),
 * and the type checker holds autodiff's namespace to every declaration.
 */
// biome-ignore lint/suspicious/noEmptyInterface: op files fill it in by declaration merging, which needs an interface
export interface Ops {}

/**
 * Emits the gradient of a node: given the gradients into its outputs, one gradient per input,
 * built with the ops autodiff passes in.
 */
export type GradientRule<In extends Inputs, A extends AttrsOf<A>, Out extends Outputs> = (
  node: OpNode<In, A, Out>,
  dys: OutputGradients<Out>,
  op: Ops,
) => InputGradients<In>;

/** Everything about one ONNX op: its inputs, attributes and outputs, its shape rule, its gradient rule. */
export interface OpSpec<In extends Inputs, A extends AttrsOf<A>, Out extends Outputs> extends OpInfo {
  readonly attrs: AttrSchema<A>;
  readonly infer: (inputs: In, attrs: A) => OutputSpecs<Out>;
  readonly gradient?: GradientRule<In, A, Out>;
}

/** An op as `defineOp` made it: its spec, and the nodes emitted of it with their types (`nodeOf` reads them). */
export interface OpDef<In extends Inputs, A extends AttrsOf<A>, Out extends Outputs> extends OpSpec<In, A, Out> {
  readonly nodes: WeakMap<Node, OpNode<In, A, Out>>;
}

/**
 * Declares an op by its inputs, attributes and outputs, e.g.
 * `defineOp<[X: Tensor, W: Tensor, B?: Tensor], ConvAttrs>({ ... })`; one output unless `Out` says otherwise.
 */
export function defineOp<In extends Inputs, A extends AttrsOf<A> = NoAttrs, Out extends Outputs = readonly [y: Tensor]>(
  spec: OpSpec<In, A, Out>,
): OpDef<In, A, Out> {
  return { ...spec, nodes: new WeakMap() };
}

/** A handle to a value in a graph: a name, an element type and a static shape. */
export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `'${this.name}' ${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface Initializer {
  readonly tensor: Tensor;
  readonly data: AnyTypedArray;
}

export interface GraphOutput {
  readonly tensor: Tensor;
  readonly name: string;
}

export interface GraphOptions {
  /**
   * Emit only ops that every ONNX Runtime execution provider runs, WebGPU's included: no
   * BatchNormalization in training mode (its statistics are written as reductions), no MaxPool
   * Indices and no MaxUnpool (the max-pool gradient is a first-maximum mask). Same values,
   * within float rounding; the CPU runs the standard graph faster.
   */
  portable?: boolean;
}

/** What a portable graph (`GraphOptions.portable`) cannot express, where the standard graph can. */
export class NotPortableError extends ExpectedError {}

/**
 * Two values of one graph would have the same name (a model's state entry named like the
 * training graph's own inputs, say).
 */
export class NameTakenError extends Error {
  constructor(
    readonly valueName: string,
    message: string,
  ) {
    super(message);
    this.name = 'NameTakenError';
  }
}

export class Graph {
  /** The tape, in emission order. */
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly outputs: GraphOutput[] = [];
  readonly initializers = new Map<string, Initializer>();
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, Tensor>();
  private counter = 0;

  constructor(
    readonly name = 'graph',
    readonly options: GraphOptions = {},
  ) {}

  /** A fresh name based on `hint`, unique in this graph. */
  uniqueName(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Takes `name` exactly; throws a NameTakenError if the graph already uses it. */
  reserve(name: string): string {
    if (this.names.has(name))
      throw new NameTakenError(name, `graph '${this.name}' already has a value named '${name}'`);
    this.names.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = new Tensor(this, this.reserve(name), dtype, shape);
    this.inputs.push(t);
    return t;
  }

  /** A named constant stored in the model file (weights in an exported model). */
  initializer(name: string, dtype: DType, shape: readonly number[], data: AnyTypedArray): Tensor {
    return this.addInitializer(this.reserve(name), dtype, shape, data);
  }

  private addInitializer(name: string, dtype: DType, shape: readonly number[], data: AnyTypedArray): Tensor {
    if (data.length !== numel(shape)) {
      throw new ShapeError(`initializer '${name}': ${data.length} values do not fill shape ${formatShape(shape)}`);
    }
    const t = new Tensor(this, name, dtype, shape);
    this.initializers.set(name, { tensor: t, data });
    return t;
  }

  /**
   * An anonymous constant. Identical constants are stored once, unless `shared` is false
   * (for an input a kernel may write into; see ops/batch-norm.ts).
   */
  constant(
    dtype: DType,
    shape: readonly number[],
    values: ArrayLike<number>,
    { shared = true, hint = 'const' } = {},
  ): Tensor {
    const key = `${dtype}${formatShape(shape)}:${Array.from(values).join(',')}`;
    const cacheable = shared && key.length < 512;
    const cached = cacheable ? this.constants.get(key) : undefined;
    if (cached) return cached;
    const t = this.addInitializer(this.uniqueName(hint), dtype, shape, typedArray(dtype, values));
    if (cacheable) this.constants.set(key, t);
    return t;
  }

  scalar(value: number, dtype: DType = 'float32'): Tensor {
    return this.constant(dtype, [], [value]);
  }

  /** The node that computed `t`, or undefined for an input or initializer. */
  producer(t: Tensor): Node | undefined {
    for (let i = this.nodes.length - 1; i >= 0; i--) if (this.nodes[i].outputs.includes(t)) return this.nodes[i];
    return undefined;
  }

  /** Marks `tensor` as a graph output called `name` (an Identity renames it if needed). */
  output(tensor: Tensor, name: string = tensor.name): Tensor {
    let t = tensor;
    const taken = this.outputs.some((o) => o.name === name);
    if (taken) throw new NameTakenError(name, `graph '${this.name}' already has an output named '${name}'`);
    if (t.name !== name || this.inputs.includes(t) || this.initializers.has(t.name)) {
      [t] = emit(Identity, [t], {}, { outputNames: [name] });
    }
    this.outputs.push({ tensor: t, name });
    return t;
  }
}

/** The shape rule of every op whose output has its first input's type and shape. */
export const sameAsInput = ([x]: readonly [Tensor, ...Inputs]): [OutputSpec] => [{ dtype: x.dtype, shape: x.shape }];

/** Identity lives here because `Graph.output` renames through it. */
export const Identity = defineOp<[input: Tensor]>({
  type: 'Identity',
  since: 1,
  attrs: {},
  infer: sameAsInput,
  gradient: (_node, [dy]) => [dy],
});

function graphOf(inputs: Inputs, opType: string): Graph {
  const first = inputs.find((t): t is Tensor => t !== undefined);
  if (!first) throw new Error(`${opType}: needs at least one input tensor`);
  for (const t of inputs) {
    if (t && t.graph !== first.graph) throw new Error(`${opType}: inputs come from different graphs`);
  }
  return first.graph;
}

export interface EmitOptions {
  /** Node name hint (made unique). */
  name?: string;
  /** Exact names for the outputs (graph outputs, state). */
  outputNames?: readonly string[];
  /** Keep only the first `outputCount` outputs (ONNX's optional trailing outputs). */
  outputCount?: number;
}

/**
 * Emits one node of `op` and returns its outputs. Output shapes come from the op's shape
 * rule, which throws a `ShapeError` naming the op and tensors when the inputs disagree.
 */
export function emit<In extends Inputs, A extends AttrsOf<A>, Out extends Outputs>(
  op: OpDef<In, A, Out>,
  inputs: NoInfer<In>,
  attrs: NoInfer<A>,
  options: EmitOptions = {},
): Out {
  const graph = graphOf(inputs, op.type);
  const specs: readonly OutputSpec[] = op.infer(inputs, attrs).slice(0, options.outputCount);
  const name = graph.uniqueName(options.name ?? op.type);
  const outputs = specs.map((s, i) => {
    const given = options.outputNames?.[i];
    return new Tensor(graph, given ? graph.reserve(given) : graph.uniqueName(`${name}:${i}`), s.dtype, s.shape);
  });
  // One output per spec the rule returned, so `outputs` has the shape `Out` describes.
  const node: OpNode<In, A, Out> = { op, name, inputs, outputs: outputs as readonly Tensor[] as Out, attrs };
  const rule = op.gradient;
  // Autodiff passes one gradient per output, and asks a rule only when some gradient flows: for
  // a single output, that one (the case where `OutputGradients` promises a defined `dy`).
  const gradient =
    rule && ((dys: readonly (Tensor | undefined)[], ops: Ops) => rule(node, dys as OutputGradients<Out>, ops));
  const taped: Node = { op, name, inputs, outputs, attrs, gradient };
  graph.nodes.push(taped);
  op.nodes.set(taped, node);
  return node.outputs;
}

/**
 * The node with its op's own types, where `op` made it, else undefined: the attributes' and
 * tensors' types that the tape forgot, as `op` kept them (a lowering reads a Conv's attributes so).
 */
export function nodeOf<In extends Inputs, A extends AttrsOf<A>, Out extends Outputs>(
  node: Node,
  op: OpDef<In, A, Out>,
): OpNode<In, A, Out> | undefined {
  return op.nodes.get(node);
}

/** Shape-rule helper: the message every shape rule throws. */
export function shapeError(op: string, detail: string, ...tensors: (Tensor | undefined)[]): ShapeError {
  const list = tensors
    .filter((t): t is Tensor => t !== undefined)
    .map(String)
    .join(', ');
  return new ShapeError(`${op}: ${detail} (${list})`);
}

/** The tensor's shape as numbers, for code that needs sizes; a symbolic dim is a ShapeError naming `op`. */
export function staticShape(t: Tensor, op: string): readonly number[] {
  if (!isStatic(t.shape)) throw shapeError(op, 'needs a static shape', t);
  return t.shape;
}

/** One dim as a number (a negative axis counts from the end); a symbolic one is a ShapeError naming `op`. */
export function staticDim(t: Tensor, axis: number, op: string): number {
  const d = t.shape[normalizeAxis(axis, t.rank)];
  if (typeof d !== 'number') throw shapeError(op, `dim ${axis} must be static, not '${d}'`, t);
  return d;
}
