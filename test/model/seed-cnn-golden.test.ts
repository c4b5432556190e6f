/**
 * The seed CNN, written with the public layer API, emits the same bytes as the definition it
 * replaced (commit dc10aa7, a flat list of layers): its speed and results cannot have moved.
 * One deliberate change since: BatchNorm's scratch inputs hold a value unique in the graph
 * (ops/batch-norm.ts: ORT merges equal small constants, which two BatchNorms then share), so
 * bn4's and bn5's, the second and third of 32 channels, no longer hold 0 and 1. No output
 * depends on them (momentum 0), and with the old values put back the bytes are dc10aa7's.
 * A deliberate change to these graphs updates the hashes here, and says so in its commit. The
 * training steps changed once more (2026-12-05): dX's window flip became a MatMul by the exchange
 * matrix (ops/conv.ts) and the NCHWc filter reorder two one-axis transposes (nchwc.ts); the
 * values are the same (test/train/pytorch-step.test.ts), the evaluation and exported graphs too.
 * And the lowered step once more (2026-12-05): dX's filter swap (in <-> out) is folded into its
 * NCHWc reorder, which reads the forward's flipped weights; the unused Transpose is dropped.
 * And every graph once more (2026-12-06): an output that renames a node's result names the result itself
 * (serialize.ts's withoutRenames), so the Identity nodes that copied the momentum buffers are gone.
 */
import { describe, expect, test } from 'vitest';
import { foldBatchNorm, withBatchNormFolded } from '../../src/export/fold.js';
import { inferenceGraph, inferenceModelBytes } from '../../src/export/inference.js';
import { nchwcLowering } from '../../src/graph/nchwc.js';
import type { Graph } from '../../src/graph/builder.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { evalGraph, trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { OPSET } from '../../src/train/core/opset.js';
import { sha256Hex } from '../../src/util/sha256.node.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';
import { entry } from '../helpers/must.js';

const sgd = DEFAULT_SGD;

/** The graph with every BatchNorm scratch input back at dc10aa7's values (mean 0, var 1). */
function withOldScratch(graph: Graph): Graph {
  for (const [name, init] of graph.initializers) {
    if (name.endsWith('.scratch_mean')) (init.data as Float32Array).fill(0);
    if (name.endsWith('.scratch_var')) (init.data as Float32Array).fill(1);
  }
  return graph;
}

describe('the seed CNN emits the graphs it did before the layer API, or a deliberate change (SHA-256 of the bytes)', () => {
  const net = seedCnn();
  const step = withOldScratch(trainStepGraph(net, 128, sgd).graph);
  test('training step, batch 128, the default recipe', () => {
    expect(sha256Hex(serializeModel(step, { opset: OPSET }))).toBe(
      '9124e0b818bc31782751c9218ef070839942173a7a2a93b6d6ef091490399f57',
    );
  });
  test('the same, lowered to NCHWc convs (blocks of 16 and of 8)', () => {
    expect(sha256Hex(serializeModel(step, { opset: OPSET, lowering: nchwcLowering(16) }))).toBe(
      '91542c0ba10e546864ea073cddc170ad74125bdd7bff73af6014452d2d84a1b3',
    );
    expect(sha256Hex(serializeModel(step, { opset: OPSET, lowering: nchwcLowering(8) }))).toBe(
      'fb4de926312deebbf0996d53a6f783514680aa2f4ba4da4a49418f8adfc482ff',
    );
  });
  test('training step with Adam and the moving average, batch 64', () => {
    const g = withOldScratch(
      trainStepGraph(net, 64, { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, { average: true })
        .graph,
    );
    expect(sha256Hex(serializeModel(g, { opset: OPSET }))).toBe(
      'b861b2f550cefad918db7e2c4fcf9de9f1dbceab3dc460909bc912237a5c450d',
    );
  });
  test('the scratch values are what differs: each unique in the graph', () => {
    const g = trainStepGraph(net, 128, sgd).graph;
    const scratch = [...g.initializers].filter(([n]) => n.includes('.scratch_')).map(([n, i]) => `${n}=${i.data[0]}`);
    expect(scratch).toEqual([
      'bn1.weight.scratch_mean=0',
      'bn1.weight.scratch_var=1',
      'bn2.weight.scratch_mean=0',
      'bn2.weight.scratch_var=1',
      'bn3.weight.scratch_mean=0',
      'bn3.weight.scratch_var=1',
      'bn4.weight.scratch_mean=2',
      'bn4.weight.scratch_var=3',
      'bn5.weight.scratch_mean=4',
      'bn5.weight.scratch_var=5',
      'bn6.weight.scratch_mean=0',
      'bn6.weight.scratch_var=1',
    ]);
  });
  test('evaluation graph', () => {
    expect(sha256Hex(serializeModel(evalGraph(net), { opset: OPSET }))).toBe(
      '319b92b1d9893ad93756b9e69a007914b67cd1af596d6b934818797561a6f88a',
    );
  });
  test('the BatchNorm-folded network (fine-tuning) and the exported model of a seeded state', () => {
    const folded = trainStepGraph(withBatchNormFolded(net), 32, sgd).graph;
    expect(sha256Hex(serializeModel(folded, { opset: OPSET }))).toBe(
      '06787a8d8b6134ab984d32096f1f91e8cf3591488897d16dc7bfa1233636627b',
    );
    const exported = inferenceModelBytes(inferenceGraph(net, foldBatchNorm(net, net.initialState(3))));
    expect(sha256Hex(exported)).toBe('000a6aba83dc5c4564203ced7d896691ac56458a2bd223018aefd5db3847ac31');
  });
  test('initial state (same draws per entry)', () => {
    expect(sha256Hex(new Uint8Array(entry(net.initialState(5), 'conv3.weight').data.buffer))).toBe(
      '063b22bcd374e20bf54573664f861252b3f3e31ea3c875a044d1993be3402f60',
    );
  });
});
