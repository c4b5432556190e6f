/**
 * The runtime-neutral pieces the training page uses, checked in Node: verify-core's check on
 * a core Runtime (here onnxruntime-node's) gives verifyExport's answer and refuses with the
 * caller's consequence; the safetensors codec pads its header by UTF-8 bytes (no Buffer).
 */
import { expect, test } from 'vitest';
import { foldBatchNorm } from '../../src/export/fold.js';
import { inferenceGraph, inferenceModelBytes } from '../../src/export/inference.js';
import { assertFaithful, ExportError, verifyModel } from '../../src/export/verify-core.js';
import { verifyExport } from '../../src/export/verify.node.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { nodeRuntime } from '../../src/train/node-runtime.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../src/util/safetensors-codec.js';
import { testSplit } from '../helpers/digits.js';
import { MNIST_NORMALIZATION } from '../../src/data/normalize.js';
import { entry } from '../helpers/must.js';

const net = seedCnn();
const state = net.initialState(5);
const head = () => {
  const t = testSplit();
  return { ...t, count: 300, images: t.images.subarray(0, 300 * 784), labels: t.labels.subarray(0, 300) };
};

test("verifyModel on a Runtime gives verifyExport's result, and a wrong model is refused with the caller's consequence", async () => {
  const good = inferenceModelBytes(inferenceGraph(net, foldBatchNorm(net, state)));
  const v = await verifyModel(nodeRuntime(), net, state, good, head(), MNIST_NORMALIZATION);
  expect(v).toEqual(await verifyExport(net, state, good, head(), MNIST_NORMALIZATION));
  expect(() => assertFaithful(v, 'the model is not offered for download')).not.toThrow();
  const folded = foldBatchNorm(net, state);
  const w = entry(folded, 'conv1.weight');
  folded.set('conv1.weight', { shape: w.shape, data: w.data.map((x) => x * 3) });
  const bad = await verifyModel(
    nodeRuntime(),
    net,
    state,
    inferenceModelBytes(inferenceGraph(net, folded)),
    head(),
    MNIST_NORMALIZATION,
  );
  expect(() => assertFaithful(bad, 'the model is not offered for download')).toThrow(ExportError);
  expect(() => assertFaithful(bad, 'the model is not offered for download')).toThrow(
    /disagrees .*; the model is not offered for download$/,
  );
  expect(() => assertFaithful(bad)).toThrow(/; nothing was written$/);
});

test('the safetensors codec aligns the data to 8 bytes counting UTF-8 bytes, and round-trips', () => {
  const tensors = new Map<string, SafeTensor>([
    ['a.weight', { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, -0.5) }],
    ['bn.num_batches_tracked', { dtype: 'I64', shape: [], data: BigInt64Array.of(60n) }],
  ]);
  for (const note of ['', 'é', 'ü✓', '数字の読み']) {
    const bytes = encodeSafetensors(tensors, { note });
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + length) % 8, note).toBe(0);
    const back = decodeSafetensors(bytes, 'x.safetensors');
    expect(back.metadata).toEqual({ note });
    expect(back.tensors).toEqual(tensors);
  }
});
