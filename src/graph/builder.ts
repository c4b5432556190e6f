/**
 * The graph builder: typed tensor handles, node emission with shape inference, and the tape
 * of emitted nodes that autodiff walks backwards. Serialisation lives in `serialize.ts`.
 */
import { type AnyTypedArray, type DType, typedArray } from './dtype.js';
import { type Shape, formatShape, numel, ShapeError } from './shape.js';

export type AttrType = 'int' | 'ints' | 'float' | 'floats' | 'string';
export type AttrValue = number | readonly number[] | string;
export type Attrs = Record<string, AttrValue | undefined>;
export type AttrSchema<A> = { readonly [K in keyof A]-?: AttrType };

export interface OutputSpec {
  dtype: DType;
  shape: Shape;
}

/** One emitted node, as autodiff sees it. */
export interface Node<A extends Attrs = Attrs> {
  readonly op: OpDef<A>;
  readonly name: string;
  readonly inputs: readonly (Tensor | undefined)[];
  readonly outputs: readonly Tensor[];
  readonly attrs: A;
}

/**
 * Emits the gradient of a node: given the gradients flowing into its outputs (undefined
 * where none flows), returns one gradient per input (undefined where the input is not
 * differentiable or receives nothing).
 */
export type GradientRule<A extends Attrs = Attrs> = (
  node: Node<A>,
  dys: readonly (Tensor | undefined)[],
) => readonly (Tensor | undefined)[];

/** Everything about one ONNX op: its attributes, its shape rule, its gradient rule. */
export interface OpDef<A extends Attrs = Attrs> {
  readonly type: string;
  /** The opset from which the op has the form emitted here (inputs, attributes, semantics). */
  readonly since: number;
  readonly attrs: AttrSchema<A>;
  readonly infer: (inputs: readonly (Tensor | undefined)[], attrs: A) => OutputSpec[];
  readonly gradient?: GradientRule<A>;
}

export function defineOp<A extends Attrs = Record<string, never>>(def: OpDef<A>): OpDef<A> {
  return def;
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

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly outputs: GraphOutput[] = [];
  readonly initializers = new Map<string, Initializer>();
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, Tensor>();
  private counter = 0;

  constructor(readonly name = 'graph') {}

  /** A fresh name based on `hint`, unique in this graph. */
  uniqueName(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Takes `name` exactly; throws if the graph already uses it. */
  reserve(name: string): string {
    if (this.names.has(name)) throw new Error(`graph '${this.name}' already has a value named '${name}'`);
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
  constant(dtype: DType, shape: readonly number[], values: ArrayLike<number>, { shared = true, hint = 'const' } = {}): Tensor {
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

  /** Marks `tensor` as a graph output called `name` (an Identity renames it if needed). */
  output(tensor: Tensor, name: string = tensor.name): Tensor {
    let t = tensor;
    const taken = this.outputs.some((o) => o.name === name);
    if (taken) throw new Error(`graph '${this.name}' already has an output named '${name}'`);
    if (t.name !== name || this.inputs.includes(t) || this.initializers.has(t.name)) {
      [t] = emit(Identity, [t], {}, { outputNames: [name] });
    }
    this.outputs.push({ tensor: t, name });
    return t;
  }
}

/** Identity lives here because `Graph.output` renames through it. */
export const Identity = defineOp({
  type: 'Identity',
  since: 1,
  attrs: {},
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  gradient: (_node, [dy]) => [dy],
});

function graphOf(inputs: readonly (Tensor | undefined)[], opType: string): Graph {
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
export function emit<A extends Attrs>(
  op: OpDef<A>,
  inputs: readonly (Tensor | undefined)[],
  attrs: A,
  options: EmitOptions = {},
): Tensor[] {
  const graph = graphOf(inputs, op.type);
  const specs = op.infer(inputs, attrs).slice(0, options.outputCount);
  const name = graph.uniqueName(options.name ?? op.type);
  const outputs = specs.map((s, i) => {
    const given = options.outputNames?.[i];
    return new Tensor(graph, given ? graph.reserve(given) : graph.uniqueName(`${name}:${i}`), s.dtype, s.shape);
  });
  graph.nodes.push({ op: op as unknown as OpDef, name, inputs, outputs, attrs });
  return outputs;
}

/** Shape-rule helper: the message every shape rule throws. */
export function shapeError(op: string, detail: string, ...tensors: (Tensor | undefined)[]): ShapeError {
  const list = tensors.filter((t): t is Tensor => t !== undefined).map(String).join(', ');
  return new ShapeError(`${op}: ${detail} (${list})`);
}

/** Shape-rule helper: the input must exist. */
export function required(t: Tensor | undefined, op: string, what: string): Tensor {
  if (!t) throw new Error(`${op}: missing input '${what}'`);
  return t;
}
