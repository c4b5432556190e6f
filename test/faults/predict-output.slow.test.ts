/**
 * `predict` trusts no model's output: the probabilities must be float32, one row per image of
 * the card's classes (10 when the card does not say), each row a distribution. A model that
 * answers otherwise, or wants inputs predict does not feed, is refused in one line, never
 * printed as an answer ("undefined (NaN%)", "digit 17").
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { Graph, type Tensor } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { lines, runCli } from '../helpers/cli.js';
import { digitPng } from '../helpers/digits.js';

let dir: string;
let images: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'predict-output-'));
  images = await Promise.all([0, 1, 2].map((i) => digitPng(dir, i)));
});

/** A model file whose `probabilities` is `output(flattened image, graph)`; `classes` goes into its card. */
function model(name: string, output: (x: Tensor, g: Graph) => Tensor, classes?: number): string {
  const g = new Graph(name);
  const x = op.flatten(g.input('image', 'float32', ['N', 1, 28, 28]));
  g.output(output(x, g), 'probabilities');
  const file = join(dir, `${name}.onnx`);
  writeFileSync(
    file,
    serializeModel(g, { opset: 13, metadata: classes === undefined ? {} : { classes: String(classes) } }),
  );
  return file;
}

/** Softmax over `k` classes of the flattened image, a distribution per image. */
const softmaxOf = (k: number) => (x: Tensor, g: Graph) =>
  op.softmax(
    op.matmul(
      x,
      g.initializer(
        'w',
        'float32',
        [784, k],
        Float32Array.from({ length: 784 * k }, (_, i) => ((i * 7) % 13) / 100),
      ),
    ),
  );

function refusedWhole(file: string, problem: string): void {
  const r = runCli('predict', [...images, '--model', file]);
  expect(lines(r.stderr)).toEqual([`error: ${file}: ${problem}`]);
  expect(r.stdout).toBe('');
  expect(r.status).toBe(1);
}

describe('the shape of the output', () => {
  for (const k of [1, 3, 1000]) {
    test(`[N,${k}] from a model whose card does not give classes (so 10): refused in one line`, () => {
      const file = model(`classes-${k}`, softmaxOf(k));
      refusedWhole(
        file,
        `its probabilities output is [3,${k}] for 3 images, expected [3,10]; ` +
          `the model does not answer as its card says`,
      );
    });
  }

  test('[N,0]: refused in one line', () => {
    const file = model('classes-0', (x) => op.slice(op.softmax(x), [0], [0], [1]));
    refusedWhole(
      file,
      'its probabilities output is [3,0] for 3 images, expected [3,10]; the model does not answer as its card says',
    );
  });

  test('a constant [1,10] whatever the batch: refused in one line', () => {
    const file = model('constant', (x, g) =>
      op.add(g.constant('float32', [1, 10], new Array(10).fill(0.1)), op.mul(op.reduceSum(x, [0, 1], true), 0)),
    );
    refusedWhole(
      file,
      'its probabilities output is [1,10] for 3 images, expected [3,10]; the model does not answer as its card says',
    );
  });

  test('a card of 3 classes: [N,3] is answered (classes 0 to 2); [N,10] is refused', () => {
    const three = model('card-3', softmaxOf(3), 3);
    const r = runCli('predict', [...images, '--model', three, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const outcomes: { prediction: { label: number; probabilities: number[] } }[] = JSON.parse(r.stdout);
    for (const o of outcomes) {
      expect(o.prediction.probabilities).toHaveLength(3);
      expect(o.prediction.label).toBeLessThan(3);
    }
    refusedWhole(
      model('card-3-gives-10', softmaxOf(10), 3),
      'its probabilities output is [3,10] for 3 images, expected [3,3]; the model does not answer as its card says',
    );
  });

  test('a card whose classes is not a whole number from 2 to 100,000 (10^8 froze the draw page): refused before anything runs', () => {
    refusedWhole(
      model('card-bad', softmaxOf(10), 1),
      "the model card's classes is '1', expected a whole number from 2 to 100,000",
    );
    refusedWhole(
      model('card-huge', softmaxOf(10), 100_000_000),
      "the model card's classes is '100000000', expected a whole number from 2 to 100,000",
    );
  });
});

describe('the values of the output', () => {
  const cases: [string, (x: Tensor, g: Graph) => Tensor, RegExp][] = [
    [
      'shifted softmax (sums to 1, values outside [0,1])',
      (x, g) => op.add(softmaxOf(10)(x, g), g.constant('float32', [10], [-1, 1, 0, 0, 0, 0, 0, 0, 0, 0])),
      /^a probability of -?[\d.]+, outside \[0,1\]$/,
    ],
    [
      'half a softmax (values in [0,1], summing to 0.5)',
      (x, g) => op.mul(softmaxOf(10)(x, g), 0.5),
      /^probabilities that sum to 0\.5, not 1$/,
    ],
    [
      'logits (no softmax)',
      (x, g) => op.matmul(x, g.initializer('w', 'float32', [784, 10], new Float32Array(7840).fill(0.05))),
      /^a probability of [\d.]+, outside \[0,1\]$/,
    ],
  ];
  for (const [what, output, reason] of cases) {
    test(`${what}: every file gets a one-line error, exit code 1, no answer printed`, () => {
      const file = model(what.split(' ')[0], output);
      const r = runCli('predict', [...images, '--model', file]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      const errors = lines(r.stderr);
      expect(errors).toHaveLength(3);
      errors.forEach((line, i) => {
        const prefix = `error: ${images[i]}: the model's output is not a probability distribution (`;
        expect(line.startsWith(prefix)).toBe(true);
        expect(line.endsWith(`); ${file} is broken`)).toBe(true);
        expect(line.slice(prefix.length, -`); ${file} is broken`.length)).toMatch(reason);
      });
    });
  }
});

describe('inputs and types predict cannot feed or read', () => {
  test('a second input beside image: refused in one line, no stack trace', () => {
    const g = new Graph('two-inputs');
    const x = op.flatten(g.input('image', 'float32', ['N', 1, 28, 28]));
    const scale = g.input('scale', 'float32', [1]);
    g.output(
      op.softmax(
        op.mul(op.matmul(x, g.initializer('w', 'float32', [784, 10], new Float32Array(7840).fill(0.01))), scale),
      ),
      'probabilities',
    );
    const file = join(dir, 'two-inputs.onnx');
    writeFileSync(file, serializeModel(g, { opset: 13 }));
    refusedWhole(file, 'the model takes 2 inputs (image, scale); predict feeds only image');
  });

  test('int64 probabilities: refused in one line, no stack trace', () => {
    const file = model('int64', (x, g) => op.cast(op.mul(softmaxOf(10)(x, g), 100), 'int64'));
    refusedWhole(file, "the model's output probabilities is int64, expected float32");
  });
});
