/** Runs builder graphs in onnxruntime-node for tests. */
import * as ort from '../../src/util/ort.node.js';
import { type Graph, staticShape } from '../../src/graph/builder.js';
import type { AnyTypedArray, DType } from '../../src/graph/dtype.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { OPSET } from '../../src/train/node-runtime.js';

const ORT_TYPE: Record<DType, ort.Tensor.Type> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  bool: 'bool',
  uint8: 'uint8',
};

export async function session(graph: Graph): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(serializeModel(graph, { opset: OPSET }), {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

export async function run(
  s: ort.InferenceSession,
  graph: Graph,
  feeds: Record<string, AnyTypedArray>,
): Promise<Record<string, ort.Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const input of graph.inputs) {
    const data = feeds[input.name];
    if (!data) throw new Error(`missing feed '${input.name}'`);
    ortFeeds[input.name] = new ort.Tensor(ORT_TYPE[input.dtype], data, staticShape(input, `feed '${input.name}'`));
  }
  return s.run(ortFeeds);
}

/** Builds a session and runs it once. */
export async function runOnce(graph: Graph, feeds: Record<string, AnyTypedArray>): Promise<Record<string, ort.Tensor>> {
  return run(await session(graph), graph, feeds);
}
