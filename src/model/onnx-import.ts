/**
 * A model that PyTorch exported (`torch.onnx.export`, opsets 13-17) as a Network to train.
 *
 * The graph's nodes are emitted again, node by node, with this project's ops, which carry
 * gradient rules: so the imported model trains, exports and runs in the page like one written
 * with the layers. Its state is its initializers, under their own names: in a training-mode
 * export those are PyTorch's state_dict keys (`features.0.weight`, `bn.running_mean`), so
 * checkpoints load back into the PyTorch module. Which initializers train: onnx/state-roles.ts;
 * each op's conversion: onnx/converters.ts (one entry per op); the graph as a module, with
 * PyTorch layers where the names say so: onnx/graph-module.ts; shape computations folded at
 * import for the static image shape: onnx/folding.ts.
 */
import type onnxProto from 'onnx-proto';
import { parseModel } from '../graph/serialize.js';
import { TensorDataError, type TensorValues, tensorValues, toNumber } from '../graph/tensor-proto.js';
import { ints, parseAttributes } from './onnx/attributes.js';
import { SUPPORTED_OPS } from './onnx/converters.js';
import { OnnxGraphModule } from './onnx/graph-module.js';
import { untieAliases } from './onnx/state-roles.js';
import { ImportError, type NodeP } from './onnx/values.js';
import { Network } from './network.js';
import type { StateDict } from './state-dict.js';
import { messageOf } from '../util/errors.js';
import { floatData } from '../util/tensor-data.js';

export { ImportError } from './onnx/values.js';
export { SUPPORTED_OPS } from './onnx/converters.js';

const OPSETS = { min: 13, max: 17 } as const;

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
  if (dims.length !== 4)
    throw new ImportError(`its input '${input.name}' has ${dims.length} dims; an image batch has 4 ([N, C, H, W])`);
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
  const also = [...others].map(
    ([k, { name, count }]) => `${k} (node '${name}'${count > 1 ? ` and ${count - 1} more` : ''})`,
  );
  const sameKind = rest.length - [...others.values()].reduce((n, o) => n + o.count, 0);
  return (
    `node '${first.name}': ${kind(first)} cannot be trained here` +
    `${sameKind > 0 ? ` (nor ${sameKind} more ${kind(first)} node${sameKind > 1 ? 's' : ''})` : ''}` +
    `${also.length ? `; nor can ${also.join(', ')}` : ''} (supported: ${SUPPORTED_OPS.join(', ')})`
  );
}

/**
 * Why a node's attributes are not valid ONNX (strides of 0, a kernel_shape its weight disagrees with), or undefined.
 */
function attributeProblem(node: NodeP, initializers: ReadonlyMap<string, TensorValues>): string | undefined {
  if (!['Conv', 'MaxPool', 'AveragePool'].includes(node.opType ?? '')) return undefined;
  const attrs = parseAttributes(node, { kernel_shape: ints(), strides: ints(), dilations: ints() });
  for (const [attr, values] of Object.entries(attrs)) {
    if (values?.some((v) => !(v >= 1))) return `${attr} [${values}] must be positive`;
  }
  const kernel = attrs.kernel_shape;
  const weight = node.opType === 'Conv' ? initializers.get(node.input?.[1] ?? '') : undefined;
  if (kernel && weight && kernel.join() !== weight.dims.slice(2).join())
    return `kernel_shape [${kernel}] disagrees with its weight, [${weight.dims}]`;
  return undefined;
}

/** The model in `bytes`, with a graph, of an opset the importer reads. */
function parsedModel(bytes: Uint8Array | onnxProto.onnx.ModelProto): {
  graph: onnxProto.onnx.IGraphProto;
  opset: number;
} {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = bytes instanceof Uint8Array ? parseModel(bytes) : bytes;
  } catch (e) {
    throw new ImportError(`not an ONNX model (${messageOf(e).split('\n')[0]})`);
  }
  const graph = model.graph;
  if (!graph) throw new ImportError('not an ONNX model (no graph)');
  const opset = defaultOpset(model);
  if (opset < OPSETS.min || opset > OPSETS.max)
    throw new ImportError(
      `opset ${opset}: ` +
        `models of opsets ${OPSETS.min} to ${OPSETS.max} can be imported (torch.onnx.export(..., opset_version=17))`,
    );
  return { graph, opset };
}

/** The graph's initializers by name: each name once, each tensor readable. */
function initializersOf(graph: onnxProto.onnx.IGraphProto): Map<string, TensorValues> {
  const initializers = new Map<string, TensorValues>();
  for (const t of graph.initializer ?? []) {
    if (initializers.has(t.name ?? ''))
      throw new ImportError(`two initializers are named '${t.name}': not a valid ONNX model`);
    try {
      initializers.set(t.name ?? '', tensorValues(t));
    } catch (e) {
      throw e instanceof TensorDataError ? new ImportError(e.message.replace(/^tensor/, 'initializer')) : e;
    }
  }
  return initializers;
}

/** The classifier's one input (not an initializer) and one output. */
function classifierEnds(
  graph: onnxProto.onnx.IGraphProto,
  initializers: ReadonlyMap<string, TensorValues>,
): { input: onnxProto.onnx.IValueInfoProto; output: onnxProto.onnx.IValueInfoProto } {
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  if (inputs.length !== 1)
    throw new ImportError(
      `it has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); an image classifier has one`,
    );
  const outputs = graph.output ?? [];
  if (outputs.length !== 1)
    throw new ImportError(`it has ${outputs.length} outputs; an image classifier has one, [N, classes]`);
  return { input: inputs[0], output: outputs[0] };
}

/** Refuses float64 initializers and nodes whose attributes are not valid ONNX. */
function checkValues(nodes: readonly NodeP[], initializers: ReadonlyMap<string, TensorValues>): void {
  for (const [n, v] of initializers)
    if (v.dtype === 'float64') throw new ImportError(`initializer '${n}' is float64; export the model in float32`);
  for (const node of nodes) {
    const problem = attributeProblem(node, initializers);
    if (problem) throw new ImportError(`${node.opType} node '${node.name}': ${problem}`);
  }
}

/** The network's state from the initializers: each state entry's, float32 and finite. */
function initialState(net: Network, initializers: ReadonlyMap<string, TensorValues>): StateDict {
  const initial: StateDict = new Map();
  for (const spec of net.stateSpecs) {
    const v = initializers.get(spec.name);
    if (!v) throw new ImportError(`the state entry '${spec.name}' has no initializer`);
    if (v.dtype !== 'float32')
      throw new ImportError(`initializer '${spec.name}' is ${v.dtype}; a layer's state must be float32`);
    const data = Float32Array.from(floatData(v));
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0)
      throw new ImportError(
        `initializer '${spec.name}' holds ${data[bad]} (element ${bad}): the model cannot start from it`,
      );
    initial.set(spec.name, { shape: spec.shape, data });
  }
  return initial;
}

/**
 * An ONNX model's bytes as a Network named `name`, its state initialised from the file's
 * initializers. Throws an ImportError (one line, without the file name) for what cannot be imported.
 */
export function importOnnx(bytes: Uint8Array | onnxProto.onnx.ModelProto, name: string): ImportedModel {
  const { graph, opset } = parsedModel(bytes);
  const nodes = graph.node ?? [];
  const unsupported = nodes.filter(
    (n) => !SUPPORTED_OPS.includes(n.opType ?? '') || (n.domain && n.domain !== 'ai.onnx'),
  );
  if (unsupported.length > 0) throw new ImportError(unsupportedMessage(unsupported));
  const initializers = initializersOf(graph);
  const { input, output } = classifierEnds(graph, initializers);
  const inputShape = inputShapeOf(input);
  checkValues(nodes, initializers);
  const untied = untieAliases(nodes, initializers);
  const root = new OnnxGraphModule(untied.nodes, untied.initializers, input.name ?? '', output.name ?? '');
  const net = new Network(name, root, inputShape);
  const initial = initialState(net, untied.initializers);
  if (net.parameterCount === 0)
    throw new ImportError('it has no trainable initializer (weights, biases or norm scales)');
  return { net: net.withInitialState(initial), opset };
}
