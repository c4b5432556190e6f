/**
 * The deployable graph: plain pixels in, logits and probabilities out. Built from the same
 * network definition with BatchNorm folded into the convs (`withBatchNormFolded`) in eval
 * mode (no Dropout), with the weights as initializers and the MNIST normalisation inside the
 * graph.
 */
import { Graph, type Tensor } from '../graph/builder.js';
import * as op from '../graph/ops/index.js';
import { minimumOpset, serializeModel } from '../graph/serialize.js';
import { MNIST_MEAN, MNIST_STD } from '../data/normalize.js';
import { classifierOutput } from '../model/graphs.js';
import type { Network, StateDict } from '../model/network.js';

import { INPUT, LOGITS, PROBABILITIES } from './model-io.js';

/** `net` as trained, and `folded` as `foldBatchNorm` makes it from the trained state. */
export function inferenceGraph(net: Network, folded: StateDict): Graph {
  const graph = new Graph(`${net.name}-inference`);
  const image = graph.input(INPUT, 'float32', ['N', ...net.inputShape]);
  const weights = new Map<string, Tensor>();
  const state = (name: string): Tensor => {
    let t = weights.get(name);
    if (!t) {
      const s = folded.get(name);
      if (!s) throw new Error(`the folded state has no '${name}'`);
      t = graph.initializer(name, 'float32', s.shape, s.data);
      weights.set(name, t);
    }
    return t;
  };
  const normalized = op.div(op.sub(image, MNIST_MEAN), MNIST_STD);
  // What goes into a final LogSoftmax are the logits; a network without one ends in them.
  const { logits } = classifierOutput(net.withBatchNormFolded().forward(normalized, 'eval', { state }));
  if (!logits) throw new Error('unreachable: a classifier output always has logits here');
  graph.output(logits, LOGITS);
  graph.output(op.softmax(logits, 1), PROBABILITIES);
  return graph;
}

/** The .onnx bytes at the lowest opset the graph's ops need, with a model card as metadata. */
export function inferenceModelBytes(graph: Graph, metadata: Record<string, string> = {}): Uint8Array {
  return serializeModel(graph, { opset: minimumOpset(graph), metadata, docString: 'MNIST digit classifier: see metadata_props' });
}
