/**
 * The deployable graph: plain pixels in, logits and probabilities out. Built from the same
 * network definition in 'inference' mode (BatchNorm folded into the convs, no Dropout), with
 * the weights as initializers and the MNIST normalisation inside the graph.
 */
import { Graph, type Tensor } from '../graph/builder.js';
import * as op from '../graph/ops/index.js';
import { minimumOpset, serializeModel } from '../graph/serialize.js';
import { MNIST_MEAN, MNIST_STD } from '../data/normalize.js';
import type { ForwardContext } from '../model/layers.js';
import type { Network, StateDict } from '../model/network.js';

import { INPUT, LOGITS, PROBABILITIES } from './model-io.js';

/** `folded` as made by `foldBatchNorm`. */
export function inferenceGraph(net: Network, folded: StateDict): Graph {
  const graph = new Graph(`${net.name}-inference`);
  const image = graph.input(INPUT, 'float32', ['N', ...net.inputShape]);
  const weights = new Map<string, Tensor>();
  const ctx: ForwardContext = {
    mode: 'inference',
    state(name) {
      let t = weights.get(name);
      if (!t) {
        const s = folded.get(name);
        if (!s) throw new Error(`the folded state has no '${name}'`);
        t = graph.initializer(name, 'float32', s.shape, s.data);
        weights.set(name, t);
      }
      return t;
    },
    updateBuffer: () => {
      throw new Error('no buffers are updated in inference');
    },
    dropoutMask: () => {
      throw new Error('no dropout in inference');
    },
  };
  const normalized = op.div(op.sub(image, MNIST_MEAN), MNIST_STD);
  // The network ends in LogSoftmax; what goes into it are the logits.
  const last = net.layers.at(-1)!;
  if (last.kind !== 'LogSoftmax') throw new Error(`expected the network to end in LogSoftmax, not ${last.kind}`);
  let logits: Tensor | undefined;
  let previous: Tensor = normalized;
  net.forward(normalized, ctx, (layer, _block, y) => {
    if (layer === last) logits = previous;
    previous = y;
  });
  graph.output(logits!, LOGITS);
  graph.output(op.softmax(logits!, 1), PROBABILITIES);
  return graph;
}

/** The .onnx bytes at the lowest opset the graph's ops need, with a model card as metadata. */
export function inferenceModelBytes(graph: Graph, metadata: Record<string, string> = {}): Uint8Array {
  return serializeModel(graph, { opset: minimumOpset(graph), metadata, docString: 'MNIST digit classifier: see metadata_props' });
}
