/**
 * `npm run predict` with the shipped model on real MNIST test digits rendered by sharp:
 * as 28x28 PNGs, enlarged to 280x280, and as black-on-white JPEGs with a margin; and every
 * kind of bad input.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { bundledMnistDir, loadSplit } from '../../src/data/mnist.node.js';
import { Graph } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { lines, ROOT, runCli } from '../helpers/cli.js';
import { must } from '../helpers/must.js';

const COUNT = 50;
let dir: string;
let labels: number[];

const digit = (images: Uint8Array, i: number) => Buffer.from(images.subarray(i * 784, (i + 1) * 784));
const raw = { raw: { width: 28, height: 28, channels: 1 as const } };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'predict-'));
  const test10k = loadSplit(bundledMnistDir(), 'test');
  labels = Array.from(test10k.labels.subarray(0, COUNT));
  for (let i = 0; i < COUNT; i++) {
    const px = digit(test10k.images, i);
    await sharp(px, raw)
      .png()
      .toFile(join(dir, `small-${i}.png`));
    await sharp(px, raw)
      .resize(280, 280)
      .png()
      .toFile(join(dir, `large-${i}.png`));
    const inverted = Buffer.from(px.map((v) => 255 - v));
    await sharp(inverted, raw)
      .extend({ top: 12, bottom: 20, left: 30, right: 8, background: '#ffffff' })
      .jpeg({ quality: 85 })
      .toFile(join(dir, `paper-${i}.jpg`));
  }
});

interface Outcome {
  file: string;
  prediction?: { label: number; probability: number; runnerUp: { label: number } };
  error?: string;
}

function predictAll(kind: string): Outcome[] {
  const files = labels.map((_, i) => join(dir, `${kind}-${i}.${kind === 'paper' ? 'jpg' : 'png'}`));
  const r = runCli('predict', [...files, '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

describe('predict on real test digits (at least 49 of 50 correct)', () => {
  for (const kind of ['small', 'large', 'paper']) {
    test(
      kind === 'small' ? '28x28 PNG' : kind === 'large' ? '280x280 PNG' : 'black-on-white JPEG with a margin',
      () => {
        const outcomes = predictAll(kind);
        expect(outcomes).toHaveLength(COUNT);
        const correct = outcomes.filter((o, i) => o.prediction?.label === labels[i]).length;
        console.log(`predict ${kind}: ${correct}/${COUNT} correct`);
        expect(correct).toBeGreaterThanOrEqual(49);
        const first = must(outcomes[0].prediction, 'the first prediction');
        expect(first.runnerUp.label).not.toBe(first.label);
      },
    );
  }

  test('text output: digit, probability and runner-up per file', () => {
    const r = runCli('predict', [join(dir, 'small-0.png')]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(
        new RegExp(`small-0\\.png: ${labels[0]} \\(\\d+\\.\\d\\d%\\), runner-up \\d \\(\\d+\\.\\d\\d%\\)$`),
      ),
    ]);
  });
});

test('a file name with control characters is written escaped: it cannot clear the screen or fake a line', () => {
  const name = join(dir, 'seven\u001b[2J\rnine: 9 (99.99%).png');
  writeFileSync(name, readFileSync(join(ROOT, 'examples/digits/7.png')));
  const r = runCli('predict', [name]);
  expect(r.status).toBe(0);
  expect(r.stdout).not.toMatch(/\p{Cc}(?<!\n)/u); // no control character but the line ends
  expect(lines(r.stdout)).toEqual([
    `${join(dir, 'seven\\u001b[2J\\rnine: 9 (99.99%).png')}: 7 (99.95%), runner-up 9 (0.02%)`,
  ]);
});

test('names from a folder or stdin, as bytes: a newline (was skipped) and Latin-1 (was "not found") answered', () => {
  const names = mkdtempSync(join(tmpdir(), 'predict-names-'));
  const seven = readFileSync(join(ROOT, 'examples/digits/7.png'));
  writeFileSync(join(names, 'a\nb.png'), seven);
  const latin1 = Buffer.concat([Buffer.from(`${names}/caf`), Buffer.from([0xe9]), Buffer.from('.png')]);
  writeFileSync(latin1, seven);
  const answer = ': 7 (99.95%), runner-up 9 (0.02%)';
  const shown = join(names, 'caf\uFFFD.png');
  const r = runCli('predict', [names]);
  expect(r.stderr).toBe('');
  expect(lines(r.stdout)).toEqual([`${join(names, 'a\\nb.png')}${answer}`, `${shown}${answer}`]);
  const piped = runCli('predict', ['-'], { input: Buffer.concat([latin1, Buffer.from('\n')]) });
  expect(piped.stderr).toBe('');
  expect(lines(piped.stdout)).toEqual([`${shown}${answer}`]);
  // Node reads its arguments as UTF-8: the name cannot arrive whole; the error says so, and what to do.
  const argument = runCli('predict', [shown]);
  expect(lines(argument.stderr)).toEqual([
    `error: ${shown}: file not found: its name is not UTF-8, which a command-line argument cannot pass on here; ` +
      "give its folder, or its path on stdin with '-'",
  ]);
});

describe('bad input: a one-line error naming the file; the others still answered; exit code 1', () => {
  test('missing file, non-image, blank image', async () => {
    const text = join(dir, 'notes.png');
    writeFileSync(text, 'this is not an image\n');
    const blank = join(dir, 'blank.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
      .png()
      .toFile(blank);
    const missing = join(dir, 'missing.png');
    const good = join(dir, 'small-1.png');
    const r = runCli('predict', [missing, text, good, blank]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${missing}: file not found`,
      `error: ${text}: not an image (unsupported or unrecognised format)`,
      `error: ${blank}: no digit found: the image is blank`,
    ]);
    expect(lines(r.stdout)).toEqual([expect.stringMatching(new RegExp(`^${good}: ${labels[1]} `))]);
  });

  test('a model whose input is not a picture: two channels', () => {
    const g = new Graph();
    g.output(op.relu(g.input('image', 'float32', ['N', 2, 32, 32])), 'probabilities');
    const model = join(dir, 'two.onnx');
    writeFileSync(model, serializeModel(g, { opset: 13 }));
    const r = runCli('predict', [join(dir, 'small-0.png'), '--model', model]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${model}: the model's input is image [N,2,32,32], expected image [N,C,H,W] with C 1 or 3`,
    ]);
  });

  /**
   * A colour model of 3 classes: the softmax of each RGB plane's mean (10x its mean, to be sure), named by the card.
   */
  function colourModel(file: string, card: Record<string, unknown>): void {
    const g = new Graph();
    const image = g.input('image', 'float32', ['N', 3, 12, 8]);
    g.output(op.softmax(op.mul(op.reduceMean(image, [2, 3]), 10), 1), 'probabilities');
    const metadata = Object.fromEntries(Object.entries(card).map(([k, v]) => [k, JSON.stringify(v)]));
    writeFileSync(file, serializeModel(g, { opset: 18, metadata }));
  }

  test("a colour model of named classes: pictures stretched to its 8x12 RGB input, answers by the card's names (text and --json)", async () => {
    const model = join(dir, 'colours.onnx');
    colourModel(model, { classes: 3, class_names: ['red', 'green', 'blue'], preprocess: 'resize' });
    const swatches = [
      ['red', { r: 230, g: 20, b: 20 }],
      ['green', { r: 10, g: 200, b: 40 }],
      ['blue', { r: 0, g: 30, b: 250 }],
    ] as const;
    for (const [name, background] of swatches) {
      await sharp({ create: { width: 50, height: 30, channels: 4, background: { ...background, alpha: 1 } } })
        .png()
        .toFile(join(dir, `${name}.png`));
    }
    const files = swatches.map(([name]) => join(dir, `${name}.png`));
    const r = runCli('predict', [...files, '--model', model]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout).map((l) => l.replace(/ \(.*/, ''))).toEqual(files.map((f, i) => `${f}: ${swatches[i][0]}`));
    const json = JSON.parse(runCli('predict', [files[2], '--model', model, '--json']).stdout) as {
      prediction: { label: number; name: string };
    }[];
    expect(json[0].prediction).toMatchObject({ label: 2, name: 'blue' });
  });

  test('a card whose names are not its classes, or whose preprocessing is unknown, is refused in one line', () => {
    const cases = [
      [{ classes: 3, class_names: ['red', 'green'] }, 'the model card names 2 classes; its classes is 3'],
      [{ classes: 3, class_names: 'red' }, "the model card's class_names is not a list of names"],
      [{ classes: 3, preprocess: 'sepia' }, "the model card's preprocess is 'sepia', expected digit, resize or none"],
      [
        { classes: 3, preprocess: 'digit' },
        'the model card says MNIST-style digits, which are 1x28x28; its input is [3,12,8]',
      ],
      [
        { classes: 3, preprocess: 'none' },
        'it was trained on float values, not pictures: predict cannot make its input from an image',
      ],
    ] as const;
    for (const [i, [card, problem]] of cases.entries()) {
      const model = join(dir, `card-${i}.onnx`);
      colourModel(model, card);
      const r = runCli('predict', [join(dir, 'small-0.png'), '--model', model]);
      expect(r.status).toBe(1);
      expect(lines(r.stderr)).toEqual([`error: ${model}: ${problem}`]);
    }
  });

  test('a file that is not an ONNX model, and a missing model', () => {
    const bogus = join(dir, 'bogus.onnx');
    writeFileSync(bogus, 'not a model');
    const r = runCli('predict', [join(dir, 'small-0.png'), '--model', bogus]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(lines(r.stderr)[0]).toMatch(new RegExp(`^error: ${bogus}: not a loadable ONNX model \\(.*\\)$`));
    const missing = runCli('predict', [join(dir, 'small-0.png'), '--model', join(dir, 'nope.onnx')]);
    expect(lines(missing.stderr)).toEqual([`error: ${join(dir, 'nope.onnx')}: model file not found`]);
  });
});
