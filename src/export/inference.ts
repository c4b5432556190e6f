/**
 * The deployable graph: plain inputs in (pixels in [0,1], or the data's floats), logits and
 * probabilities out. Built from the same network definition with BatchNorm folded into the
 * convs (`withBatchNormFolded`) in eval mode (no Dropout), with the weights as initializers
 * and the run's input normalisation inside the graph.
 */
import { Graph, type Tensor } from '../graph/builder.js';
import * as op from '../graph/ops/index.js';
import { minimumOpset, serializeModel } from '../graph/serialize.js';
import { channelStats, MNIST_NORMALIZATION, type Normalization } from '../data/normalize.js';
import { classifierOutput } from '../model/loss.js';
import type { Network } from '../model/network.js';
import type { StateDict } from '../model/state-dict.js';

import { INPUT, LOGITS, PROBABILITIES } from './model-io.js';
import { withBatchNormFolded } from './fold.js';

/** (x - mean) / std, with scalars for one pair and [1, C, 1, 1] constants for one per channel. */
function normalized(image: Tensor, n: Normalization): Tensor {
  if (n.mean.length === 1) return op.div(op.sub(image, n.mean[0]), n.std[0]);
  const channels = n.mean.length;
  const perChannel = (i: 0 | 1) =>
    image.graph.constant(
      'float32',
      [1, channels, 1, 1],
      Array.from({ length: channels }, (_, c) => channelStats(n, c)[i]),
    );
  return op.div(op.sub(image, perChannel(0)), perChannel(1));
}

/** `net` as trained, `folded` as `foldBatchNorm` makes it from the trained state, and the run's input normalisation. */
export function inferenceGraph(net: Network, folded: StateDict, normalize: Normalization = MNIST_NORMALIZATION): Graph {
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
  // What goes into a final LogSoftmax are the logits; a network without one ends in them.
  const { logits } = classifierOutput(
    withBatchNormFolded(net).forward(normalized(image, normalize), 'eval', { state }),
  );
  if (!logits) throw new Error('unreachable: a classifier output always has logits here');
  graph.output(logits, LOGITS);
  graph.output(op.softmax(logits, 1), PROBABILITIES);
  return graph;
}

/** The .onnx bytes at the lowest opset the graph's ops need, with a model card as metadata. */
export function inferenceModelBytes(graph: Graph, metadata: Record<string, string> = {}): Uint8Array {
  return serializeModel(graph, {
    opset: minimumOpset(graph),
    metadata,
    docString: 'MNIST digit classifier: see metadata_props',
  });
}
