/** Graph -> ONNX ModelProto bytes, through onnx-proto's protobufjs classes. */
import onnxProto from 'onnx-proto';
import { type AttrType, type AttrValue, type Graph, type Node, staticShape, type Tensor } from './builder.js';
import { ONNX_DTYPE } from './dtype.js';

const { onnx } = onnxProto;
export { onnx };

export interface ModelOptions {
  /** Default-domain opset; at least `minimumOpset(graph)`. */
  opset: number;
  producerName?: string;
  docString?: string;
  /** Key/value pairs stored as `metadata_props` (the model card). */
  metadata?: Record<string, string>;
  /** Nodes rewritten for one runtime build (e.g. `nchwcLowering`); the graph itself stays as built. */
  lowering?: Lowering;
}

/** What replaces one node: proto nodes computing its outputs, and the constants they need. */
export interface LoweredNode {
  nodes: onnxProto.onnx.INodeProto[];
  initializers: onnxProto.onnx.ITensorProto[];
}

/** A rewrite of some nodes into ops of other domains, applied as a graph is serialised. */
export interface Lowering {
  /** The opset imports the lowered nodes need. */
  domains: readonly { domain: string; version: number }[];
  /** The replacement for `node`, or undefined to keep it; `constants` names the graph's initializers. */
  lower(node: Node, constants: ReadonlySet<string>): LoweredNode | undefined;
}

/**
 * The lowest IR version that can carry `opset` (ONNX's versioning table), so that older
 * runtimes and tools load the file. onnx-proto 8.0.1's enum stops at IR 8 (opset 18).
 */
function irVersionFor(opset: number): number {
  if (opset <= 15) return 7;
  if (opset <= 18) return 8;
  throw new Error(`opset ${opset} needs IR version 9 or later, beyond what this builder writes`);
}

const ATTR_TYPE: Record<AttrType, number> = {
  float: onnx.AttributeProto.AttributeType.FLOAT,
  int: onnx.AttributeProto.AttributeType.INT,
  string: onnx.AttributeProto.AttributeType.STRING,
  floats: onnx.AttributeProto.AttributeType.FLOATS,
  ints: onnx.AttributeProto.AttributeType.INTS,
};

/** `type` comes from the op's schema, which `AttrSchema` keeps in step with the value's type. */
export function attributeProto(name: string, type: AttrType, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const base = { name, type: ATTR_TYPE[type] };
  if (typeof value === 'string') return { ...base, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return type === 'float' ? { ...base, f: value } : { ...base, i: value };
  return type === 'floats' ? { ...base, floats: [...value] } : { ...base, ints: [...value] };
}

function nodeProto(node: Node): onnxProto.onnx.INodeProto {
  const attribute: onnxProto.onnx.IAttributeProto[] = [];
  for (const [key, type] of Object.entries(node.op.attrs) as [string, AttrType][]) {
    const value = node.attrs[key];
    if (value !== undefined) attribute.push(attributeProto(key, type, value));
  }
  return {
    name: node.name,
    opType: node.op.type,
    input: node.inputs.map((t) => t?.name ?? ''),
    output: node.outputs.map((t) => t.name),
    attribute,
  };
}

function valueInfo(t: Tensor, name = t.name): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[t.dtype],
        shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** The nodes (in order) that some of `outputs` depend on, given each node's input and output names. */
function liveOf<N>(nodes: readonly N[], outputs: readonly string[], names: (n: N) => [string[], string[]]): N[] {
  const needed = new Set(outputs);
  const live: N[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const [inputs, produced] = names(nodes[i]);
    if (!produced.some((o) => needed.has(o))) continue;
    live.push(nodes[i]);
    for (const t of inputs) needed.add(t);
  }
  return live.reverse();
}

/**
 * Nodes that some graph output depends on. Gradient rules may emit values nobody uses
 * (e.g. d/d(mask) of a dropout Mul); they are dropped here rather than in every rule.
 */
function liveNodes(graph: Graph): Node[] {
  return liveOf(
    graph.nodes,
    graph.outputs.map((o) => o.tensor.name),
    (n) => [n.inputs.flatMap((t) => (t ? [t.name] : [])), n.outputs.map((t) => t.name)],
  );
}

/** The lowest opset that has every op of the graph in the form it is emitted. */
export function minimumOpset(graph: Graph): number {
  return Math.max(1, ...liveNodes(graph).map((n) => n.op.since));
}

/** The nodes' protos, each replaced by its lowering where `lowering` has one (its constants go to `initializer`). */
function lowered(
  nodes: Node[],
  lowering: Lowering | undefined,
  constants: ReadonlySet<string>,
  initializer: onnxProto.onnx.ITensorProto[],
  outputs: readonly string[],
) {
  if (!lowering) return nodes.map(nodeProto);
  const protos = nodes.flatMap((n) => {
    const replacement = lowering.lower(n, constants);
    if (!replacement) return [nodeProto(n)];
    initializer.push(...replacement.initializers);
    return replacement.nodes;
  });
  // A lowering may leave a node unused (one it folded into its own): dropped as liveNodes drops the graph's.
  return liveOf(protos, outputs, (n) => [n.input ?? [], n.output ?? []]);
}

/**
 * Drops the Identity nodes that only rename a node's result to a graph output, renaming the result instead.
 * The training step's `<p>.momentum_buffer.next` is the buffer the weight update also reads: ORT keeps such an
 * Identity as a copy, since the value is both an output and consumed (62 copies, 3.4 ms of resnet18's step).
 */
function withoutRenames(
  protos: onnxProto.onnx.INodeProto[],
  outputs: ReadonlySet<string>,
): onnxProto.onnx.INodeProto[] {
  const produced = new Set(protos.flatMap((n) => n.output ?? []));
  const rename = new Map<string, string>();
  const kept = protos.filter((n) => {
    const [from] = n.input ?? [];
    const [to] = n.output ?? [];
    const elide =
      n.opType === 'Identity' && outputs.has(to) && produced.has(from) && !outputs.has(from) && !rename.has(from);
    if (elide) rename.set(from, to);
    return !elide;
  });
  const renamed = (names: string[] | null | undefined) => (names ?? []).map((t) => rename.get(t) ?? t);
  return kept.map((n) => ({ ...n, input: renamed(n.input), output: renamed(n.output) }));
}

function toModelProto(graph: Graph, options: ModelOptions): onnxProto.onnx.IModelProto {
  const nodes = liveNodes(graph);
  const late = nodes.find((n) => n.op.since > options.opset);
  if (late)
    throw new Error(
      `opset ${options.opset} is too low for ${late.op.type} (node '${late.name}'), which needs ${late.op.since}`,
    );
  const used = new Set(nodes.flatMap((n) => n.inputs.map((t) => t?.name)));
  for (const o of graph.outputs) used.add(o.tensor.name);
  const initializers = [...graph.initializers.values()].filter((i) => used.has(i.tensor.name));
  const initializer: onnxProto.onnx.ITensorProto[] = initializers.map(({ tensor, data }) => ({
    name: tensor.name,
    dims: [...staticShape(tensor, 'initializer')],
    dataType: ONNX_DTYPE[tensor.dtype],
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  }));
  const outputs = graph.outputs.map((o) => o.tensor.name);
  const node = withoutRenames(
    lowered(nodes, options.lowering, new Set(graph.initializers.keys()), initializer, outputs),
    new Set(outputs),
  );
  return {
    irVersion: irVersionFor(options.opset),
    opsetImport: [{ domain: '', version: options.opset }, ...(options.lowering?.domains ?? [])],
    producerName: options.producerName ?? 'onnx-mnist-train',
    docString: options.docString ?? '',
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node,
      input: graph.inputs.map((t) => valueInfo(t)),
      output: graph.outputs.map((o) => valueInfo(o.tensor, o.name)),
      initializer,
    },
  };
}

/** The `.onnx` file bytes for `graph`. */
export function serializeModel(graph: Graph, options: ModelOptions): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(toModelProto(graph, options))).finish();
}

/** Parses `.onnx` bytes; throws protobufjs's error for bytes that are not a ModelProto. */
export function parseModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
