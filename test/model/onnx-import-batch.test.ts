/**
 * Models PyTorch exported (test/fixtures/pytorch_onnx.py) evaluated with a symbolic batch, as
 * predict and export run them, where the batch size enters the graph: the small ViT's cls token
 * is expanded to the batch read at run time and attention's reshapes carry the batch times heads
 * ('4*N'); the LSTM's and GRU's zero initial state is a constant of shape [1, N, H]. The loss on
 * the fixture's 16 images is PyTorch's (the step test checks the fixed-batch training graphs),
 * and any batch size gives the same rows.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { serializeModel } from '../../src/graph/serialize.js';
import { evalGraph, IMAGE, LOG_PROBS } from '../../src/model/graphs.js';
import { importOnnx } from '../../src/model/onnx-import.js';
import { OPSET } from '../../src/train/core/opset.js';
import * as ort from '../../src/util/ort.node.js';
import { type FixtureTensor, readFixture } from '../helpers/fixture.js';

const fx = readFixture('pytorch-onnx-steps.safetensors');
/** A fixture tensor's values as numbers (the labels are int64). */
function values(key: string): number[] {
  const t: FixtureTensor | undefined = fx.get(key);
  if (!t) throw new Error(`fixture has no '${key}'`);
  return Array.from(t.data, (v: number | bigint) => Number(v));
}

describe.each(['vit-13', 'vit-17', 'lstm-rows', 'gru-rows'])('%s.onnx evaluated with a symbolic batch', (name) => {
  test("PyTorch's loss on 16 images; 16 and 3 at a time give the same rows", async () => {
    const bytes = readFileSync(fileURLToPath(new URL(`../fixtures/onnx/${name}.onnx`, import.meta.url)));
    const { net } = importOnnx(bytes, name);
    const graph = evalGraph(net);
    const session = await ort.InferenceSession.create(serializeModel(graph, { opset: OPSET }), {
      intraOpNumThreads: 1,
    });
    const state = net.initialState(0);
    const images = Float32Array.from(values('input'));
    const labels = values('target');
    const run = async (count: number) => {
      const feeds: Record<string, ort.Tensor> = {
        [IMAGE]: new ort.Tensor('float32', images.slice(0, count * 784), [count, 1, 28, 28]),
      };
      for (const input of graph.inputs) {
        const value = state.get(input.name);
        if (input.name === IMAGE) continue;
        if (!value) throw new Error(`no state for the input '${input.name}'`);
        feeds[input.name] = new ort.Tensor('float32', value.data, value.shape);
      }
      return (await session.run(feeds))[LOG_PROBS].data as Float32Array;
    };
    const all = await run(16);
    const loss = -labels.reduce((sum, label, i) => sum + all[i * 10 + label], 0) / 16;
    const [ref] = values(`${name}.loss`);
    expect(Math.abs(loss - ref) / ref).toBeLessThan(1e-5);
    const three = await run(3);
    for (let i = 0; i < 30; i++) expect(three[i]).toBeCloseTo(all[i], 5);
    await session.release();
  });
});
