/**
 * `npm run bench:teach [-- --seeds 1,2,3]`: the draw page's "Teach it your handwriting"
 * (src/train/core/fine-tune.ts, on onnxruntime-node with the page's recipe) on many sets of drawn
 * digits, none of them ones the tests teach: 600 draws (with replacement) from the second half of
 * the test set, drawn as the page's pen draws them (test/helpers/drawn.ts). The sets (their
 * members drawn with replacement too, so a set may hold a digit twice):
 * - `true-N`: N digits the shipped model misreads when drawn, taught their true labels;
 * - `AasB-N`: N drawn As taught as B, which MNIST contradicts;
 * - `random-N`: N drawn digits, each taught a random wrong label.
 * One JSON line per set and seed (steps, how many read as taught, MNIST test accuracy, the
 * forgetting note), then a summary: in how many runs every taught digit reads as taught, the
 * MNIST accuracy after true-label teaching (range), and how many conflicting runs were reported.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Split } from '../src/data/dataset.js';
import { bundledMnistDir, loadSplit } from '../src/data/mnist.node.js';
import { foldedStateFromModel } from '../src/export/model-weights.js';
import { seedCnn } from '../src/model/seed-cnn.js';
import { classifierResult, Evaluator } from '../src/train/core/evaluator.js';
import { FINE_TUNE, fineTune, ownExamples, readsAsTaught } from '../src/train/core/fine-tune.js';
import { FORGETTING_REPORTED, forgettingNote } from '../src/train/core/forgetting.js';
import { nodeRuntime } from '../src/train/node-runtime.js';
import { Rng } from '../src/util/rng.js';
import { ROOT } from '../test/helpers/cli.js';
import { drawnDigit } from '../test/helpers/drawn.js';
import { MNIST_NORMALIZATION } from '../src/data/normalize.js';
import { withBatchNormFolded } from '../src/export/fold.js';

const { values: args } = parseArgs({ options: { seeds: { type: 'string', default: '1,2,3' } } });
const seeds = args.seeds.split(',').map(Number);

const folded = withBatchNormFolded(seedCnn());
const shipped = foldedStateFromModel(new Uint8Array(readFileSync(join(ROOT, 'models/mnist.onnx'))), folded);
const train = loadSplit(bundledMnistDir(), 'train');
const test = loadSplit(bundledMnistDir(), 'test');
const runtime = nodeRuntime({ threads: 2 });
const evaluator = await Evaluator.create(folded, runtime, MNIST_NORMALIZATION);
const before = classifierResult(await evaluator.evaluate(shipped, test));

// 600 digits of the test set's second half (the tests draw from its first 1,500), drawn.
const pool = new Rng(7, 1, 0);
const indices = Array.from({ length: 600 }, () => 5000 + pool.int(5000));
const drawn = await Promise.all(indices.map(drawnDigit));
const labels = indices.map((i) => test.labels[i]);
const readRight = await readsAsTaught(evaluator, shipped, ownExamples(drawn, labels), 0.5);
const all = indices.map((_, k) => k);
const misread = all.filter((k) => !readRight[k]);
const readAs = (digit: number) => all.filter((k) => labels[k] === digit && readRight[k]);

interface TeachSet {
  name: string;
  kind: 'true' | 'conflict';
  items: number[];
  labels: number[];
}
const pick = (from: number[], n: number, rng: Rng) => Array.from({ length: n }, () => from[rng.int(from.length)]);
const rng = new Rng(11, 2, 0);
const sets: TeachSet[] = [];
for (const n of [1, 3, 6, 10]) {
  const items = pick(misread, n, rng);
  sets.push({ name: `true-${n}`, kind: 'true', items, labels: items.map((k) => labels[k]) });
}
for (const [a, b, n] of [
  [1, 7, 1],
  [1, 7, 4],
  [4, 9, 3],
  [3, 8, 6],
  [0, 6, 10],
]) {
  sets.push({
    name: `${a}as${b}-${n}`,
    kind: 'conflict',
    items: pick(readAs(a), n, rng),
    labels: new Array(n).fill(b),
  });
}
for (const n of [2, 5, 10]) {
  const items = pick(all, n, rng);
  sets.push({
    name: `random-${n}`,
    kind: 'conflict',
    items,
    labels: items.map((k) => (labels[k] + 1 + rng.int(9)) % 10),
  });
}

const percent = (x: number) => Number((100 * x).toFixed(2));
const results: { set: TeachSet; taught: boolean; accuracy: number; note?: string }[] = [];
console.log(
  JSON.stringify({
    shipped_accuracy: percent(before.correct / before.count),
    drawn: indices.length,
    misread: misread.length,
    recipe: FINE_TUNE,
  }),
);
for (const set of sets) {
  for (const seed of seeds) {
    const own: Split = ownExamples(
      set.items.map((k) => drawn[k]),
      set.labels,
    );
    const started = performance.now();
    const tuned = await fineTune({
      net: folded,
      model: shipped,
      own,
      base: train,
      runtime,
      recipe: { ...FINE_TUNE, seed },
    });
    const seconds = (performance.now() - started) / 1000;
    const after = classifierResult(await evaluator.evaluate(tuned.model, test));
    const learned = tuned.learned.filter(Boolean).length;
    const note = forgettingNote(before, after);
    results.push({ set, taught: learned === own.count, accuracy: after.correct / after.count, note });
    console.log(
      JSON.stringify({
        set: set.name,
        seed,
        labels: set.labels.join(''),
        steps: tuned.steps,
        read_as_taught: `${learned}/${own.count}`,
        mnist_accuracy: percent(after.correct / after.count),
        seconds: Number(seconds.toFixed(1)),
        note: note ?? null,
      }),
    );
  }
}
await evaluator.release();

const truths = results.filter((r) => r.set.kind === 'true').map((r) => r.accuracy);
const conflicts = results.filter((r) => r.set.kind === 'conflict');
console.log(
  JSON.stringify({
    runs: results.length,
    every_digit_read_as_taught: `${results.filter((r) => r.taught).length}/${results.length}`,
    true_label_mnist_accuracy: { min: percent(Math.min(...truths)), max: percent(Math.max(...truths)) },
    true_label_runs_at_or_above_99_3: `${truths.filter((a) => a >= 0.993).length}/${truths.length}`,
    conflicting_runs_reported: `${conflicts.filter((r) => r.note).length}/${conflicts.length}`,
    conflicting_runs_that_lost_over_0_3_points: conflicts.filter(
      (r) => before.correct / before.count - r.accuracy > FORGETTING_REPORTED,
    ).length,
  }),
);
