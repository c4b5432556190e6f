/**
 * Transfer learning with onnx-mnist-train, as tfjs-examples' mnist-transfer-cnn does it: train a
 * network that PyTorch exported (transfer-cnn.onnx) on the digits 0-4, then train only its dense
 * head (`classifier`) on the digits 5-9, the convolutions frozen, and export the result as a
 * verified inference model. Plain JavaScript: `npm install onnx-mnist-train`, then
 *
 *   node transfer.mjs [--limit N] [--out transfer.onnx]
 *
 * (--limit: train on the first N images of each half, for a quick run.) Prints one JSON line
 * per stage and writes the .onnx and its model card.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createTrainer, loadMnist } from 'onnx-mnist-train/node';

const { values: args } = parseArgs({
  options: { limit: { type: 'string' }, out: { type: 'string', default: 'transfer.onnx' } },
});
const limit = args.limit === undefined ? Infinity : Number(args.limit);

/** The examples of `split` whose label is in `digits` (at most `max` of them): plain typed arrays, as any data set is. */
function digitsOf(split, digits, max = Infinity) {
  const size = split.shape.reduce((a, b) => a * b, 1);
  const keep = [];
  for (let i = 0; i < split.count && keep.length < max; i++) if (digits.includes(split.labels[i])) keep.push(i);
  const images = new Uint8Array(keep.length * size);
  for (const [to, from] of keep.entries()) images.set(split.images.subarray(from * size, (from + 1) * size), to * size);
  return {
    images,
    labels: Uint8Array.from(keep, (i) => split.labels[i]),
    count: keep.length,
    shape: split.shape,
    classNames: split.classNames,
  };
}

const mnist = loadMnist();
const low = [0, 1, 2, 3, 4];
const high = [5, 6, 7, 8, 9];
const model = new Uint8Array(readFileSync(new URL('./transfer-cnn.onnx', import.meta.url)));
const recipe = { epochs: 1, batchSize: 64, lr: 0.01, schedule: { kind: 'constant' } };
const report = (stage, trainer, evaluation) =>
  console.log(
    JSON.stringify({
      stage,
      steps: trainer.position.step,
      frozen: trainer.frozen.size,
      accuracy: Number(evaluation.accuracy.toFixed(4)),
    }),
  );

// 1. The whole network on 0-4.
const base = await createTrainer(model, recipe);
await base.fit(digitsOf(mnist.train, low, limit));
report('trained on 0-4', base, await base.evaluate(digitsOf(mnist.test, low)));

// 2. Its weights, with only the dense head trained, on 5-9.
const head = await createTrainer(model, { ...recipe, trainOnly: ['classifier'] });
head.loadState(base.state(), 'the network trained on 0-4');
const highTest = digitsOf(mnist.test, high);
report('before tuning, on 5-9', head, await head.evaluate(highTest));
await head.fit(digitsOf(mnist.train, high, limit));
report('head tuned on 5-9', head, await head.evaluate(highTest));

// 3. The inference model, checked against the evaluation graph on the 5-9 test digits.
const { onnx, card } = await head.exportInference(highTest, { source: 'examples/node-transfer/transfer.mjs' });
writeFileSync(args.out, onnx);
writeFileSync(args.out.replace(/\.onnx$/, '.json'), `${JSON.stringify(card, null, 2)}\n`);
console.log(
  JSON.stringify({ stage: 'exported', file: args.out, bytes: onnx.length, test_accuracy: card.test_accuracy }),
);
await base.close();
await head.close();
