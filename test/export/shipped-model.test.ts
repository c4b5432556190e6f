/** The model shipped in models/: its accuracy recomputed from the file, and its card. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from '../../src/util/ort.node.js';
import { expect, test } from 'vitest';
import { loadDataset } from '../../src/data/mnist.node.js';
import { parseModel } from '../../src/graph/serialize.js';

const file = fileURLToPath(new URL('../../models/mnist.onnx', import.meta.url));

test('models/mnist.onnx scores >= 99.40% on the 10,000 test images, as its card says', async () => {
  const { test: split } = loadDataset();
  const session = await ort.InferenceSession.create(file);
  let correct = 0;
  for (let start = 0; start < split.count; start += 1000) {
    const pixels = Float32Array.from(split.images.subarray(start * 784, (start + 1000) * 784), (v) => v / 255);
    const probs = (await session.run({ image: new ort.Tensor('float32', pixels, [1000, 1, 28, 28]) })).probabilities
      .data as Float32Array;
    for (let i = 0; i < 1000; i++) {
      const row = probs.subarray(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === split.labels[start + i]) correct++;
    }
  }
  expect(correct / split.count).toBeGreaterThanOrEqual(0.994);
  const meta = Object.fromEntries(parseModel(readFileSync(file)).metadataProps.map((p) => [p.key, p.value]));
  expect(Number(meta.test_correct)).toBe(correct);
  const card = JSON.parse(readFileSync(file.replace(/\.onnx$/, '.json'), 'utf8'));
  expect(card.test_correct).toBe(correct);
  expect(card.parameters).toBe(17430);
});
