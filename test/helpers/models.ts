/** Variants of the shipped model for predict's fault tests, rewritten with onnx-proto. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { ROOT } from './cli.js';
import { must } from './must.js';

const { onnx } = onnxProto;

export const SHIPPED_MODEL = join(ROOT, 'models/mnist.onnx');

/** models/mnist.onnx, parsed, for a test to change. */
export const shippedModel = (): onnxProto.onnx.ModelProto => onnx.ModelProto.decode(readFileSync(SHIPPED_MODEL));

export const encodeModel = (m: onnxProto.onnx.IModelProto): Uint8Array => onnx.ModelProto.encode(m).finish();

/** The decoded model's graph, typed as the decoded class (its lists are never null). */
export function graphOf(m: onnxProto.onnx.ModelProto): onnxProto.onnx.GraphProto {
  if (!(m.graph instanceof onnx.GraphProto)) throw new Error('the model has no graph');
  return m.graph;
}

/** Fixes every dimension called `N` (the batch) of the graph's inputs and outputs to `size`. */
export function fixBatch(m: onnxProto.onnx.ModelProto, size: number): onnxProto.onnx.ModelProto {
  for (const v of [...graphOf(m).input, ...graphOf(m).output]) {
    const shape = must(v.type?.tensorType?.shape, `the shape of ${v.name}`);
    // A fresh Dimension: dimValue and dimParam are a oneof, and an emptied dimParam would still be written.
    shape.dim = (shape.dim ?? []).map((d) =>
      d.dimParam === 'N' ? onnx.TensorShapeProto.Dimension.create({ dimValue: size }) : d,
    );
  }
  return m;
}

/** The decoded model's initializer `name`. */
export function initializerOf(m: onnxProto.onnx.ModelProto, name: string): onnxProto.onnx.ITensorProto {
  return must(
    graphOf(m).initializer.find((t) => t.name === name),
    `initializer ${name}`,
  );
}

/** The first node of `opType` in the decoded model's graph. */
export function nodeOf(m: onnxProto.onnx.ModelProto, opType: string): onnxProto.onnx.INodeProto {
  return must(
    graphOf(m).node.find((n) => n.opType === opType),
    `a ${opType} node`,
  );
}

/** The dimensions of a graph input or output (its tensor type's shape). */
export const dimsOf = (v: onnxProto.onnx.IValueInfoProto): onnxProto.onnx.TensorShapeProto.IDimension[] =>
  must(v.type?.tensorType?.shape?.dim, `the shape of ${v.name}`);
