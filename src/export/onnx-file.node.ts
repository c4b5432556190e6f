/**
 * Vetting an untrusted `.onnx` before onnxruntime sees it. A tensor can keep its data in an
 * external file named by a `location`; onnxruntime would read whatever that names (beside the
 * current folder for a model given as bytes). Only a plain file name beside the model is let
 * through, wherever the tensor sits: initializers, sparse initializers, node attributes
 * (Constant values), subgraphs, functions and training-info graphs.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, posix, win32 } from 'node:path';
import type onnxProto from 'onnx-proto';
import { onnx, parseModel } from '../graph/serialize.js';
import { FileError, messageOf } from '../util/errors.js';

type Model = onnxProto.onnx.IModelProto;
type GraphP = onnxProto.onnx.IGraphProto;
type NodeP = onnxProto.onnx.INodeProto;
type TensorP = onnxProto.onnx.ITensorProto;
type SparseP = onnxProto.onnx.ISparseTensorProto;

/**
 * An `.onnx` file that cannot be used as it is: not a model, data
 * from a refused place, or (predict) not a classifier it can feed.
 */
export class OnnxFileError extends FileError {}

/** Parses `.onnx` bytes, or says the file is not a model. */
export function parseModelFile(file: string, bytes: Uint8Array): onnxProto.onnx.ModelProto {
  try {
    return parseModel(bytes);
  } catch (e) {
    throw new OnnxFileError(file, `not a loadable ONNX model (${messageOf(e).split('\n')[0]})`);
  }
}

/** A tensor's external-data location: undefined for inline data, '' when it names none. */
function externalLocation(t: TensorP | null | undefined): string | undefined {
  if (!t) return undefined;
  const entries = t.externalData ?? [];
  if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL && entries.length === 0) return undefined;
  return entries.find((e) => e.key === 'location')?.value ?? '';
}

const sparseTensors = (s: SparseP | null | undefined): (TensorP | null | undefined)[] =>
  s ? [s.values, s.indices] : [];

/**
 * Every tensor of the graphs given and of the graphs nested in their nodes' attributes, in
 * order. Walked with a list, not recursion: a model can nest If inside If 2,000 deep.
 */
function tensorsOf(
  roots: readonly (GraphP | null | undefined)[],
  nodes: readonly NodeP[] = [],
): (TensorP | null | undefined)[] {
  type Item = { graph: GraphP } | { node: NodeP };
  const graphs = (gs: readonly (GraphP | null | undefined)[]): Item[] =>
    gs.filter((g): g is GraphP => !!g).map((graph) => ({ graph }));
  const out: (TensorP | null | undefined)[] = [];
  const work: Item[] = [...nodes.map((node) => ({ node })), ...graphs(roots)].reverse();
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    if ('node' in item) {
      for (const a of item.node.attribute ?? []) {
        out.push(
          a.t,
          ...(a.tensors ?? []),
          ...sparseTensors(a.sparseTensor),
          ...(a.sparseTensors ?? []).flatMap(sparseTensors),
        );
        work.push(...graphs([a.g, ...(a.graphs ?? [])]).reverse());
      }
    } else {
      out.push(...(item.graph.initializer ?? []), ...(item.graph.sparseInitializer ?? []).flatMap(sparseTensors));
      work.push(...(item.graph.node ?? []).map((node) => ({ node })).reverse());
    }
  }
  return out;
}

/** Every external-data location in the model, in order, without repeats. */
function externalLocations(model: Model): string[] {
  const tensors = [
    ...tensorsOf([model.graph]),
    ...tensorsOf(
      [],
      (model.functions ?? []).flatMap((f) => f.node ?? []),
    ),
    ...tensorsOf((model.trainingInfo ?? []).flatMap((t) => [t.initialization, t.algorithm])),
  ];
  const found = tensors.map(externalLocation).filter((l): l is string => l !== undefined);
  return [...new Set(found)];
}

/** Why `location` may not be read for `modelFile`, or undefined when it is a file beside it. */
function refusedLocation(modelFile: string, location: string): string | undefined {
  const why = (reason: string) => `refused external data location '${location}': ${reason}`;
  const plain =
    location !== '' &&
    location !== '.' &&
    location !== '..' &&
    !location.includes('\0') &&
    !/[/\\]/.test(location) &&
    !posix.isAbsolute(location) &&
    !win32.isAbsolute(location);
  if (!plain) return why('only a plain file name beside the model is accepted');
  const dir = dirname(modelFile);
  const target = join(dir, location);
  if (!existsSync(target)) return why('no such file beside the model');
  // A symbolic link beside the model must not lead out of its folder.
  if (dirname(realpathSync(target)) !== realpathSync(dir)) return why("it leads out of the model's folder");
  if (!statSync(target).isFile()) return why('not a file');
  return undefined;
}

/**
 * Throws a OnnxFileError naming the first refused location; returns whether the model has
 * (accepted) external data, in which case it must be loaded from its path.
 */
export function checkExternalData(modelFile: string, model: Model): boolean {
  const locations = externalLocations(model);
  for (const location of locations) {
    const problem = refusedLocation(modelFile, location);
    if (problem) throw new OnnxFileError(modelFile, problem);
  }
  return locations.length > 0;
}

/** The element type of the graph input `name` ('float32', 'uint8', ...), or undefined if absent. */
export function inputElementType(model: Model, name: string): string | undefined {
  const input = model.graph?.input?.find((i) => i.name === name);
  if (!input) return undefined;
  const elemType = input.type?.tensorType?.elemType;
  if (elemType === undefined || elemType === null) return 'not a tensor';
  return ELEMENT_NAMES[elemType] ?? `element type ${elemType}`;
}

/** ONNX TensorProto.DataType numbers, named as onnxruntime names them. */
const ELEMENT_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};
