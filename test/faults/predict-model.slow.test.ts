/**
 * `predict` with broken or untrusted models: NaN output, a fixed batch size, a non-float32
 * input, and external data that points anywhere but beside the model.
 */
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { Graph } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { mnistInput } from '../../src/preprocess/mnist-style.js';
import { lines, ROOT, runCli } from '../helpers/cli.js';
import { digitLabel, digitPng } from '../helpers/digits.js';
import { encodeModel, fixBatch, graphOf, SHIPPED_MODEL, shippedModel } from '../helpers/models.js';
import { must } from '../helpers/must.js';

const { onnx } = onnxProto;

interface Outcome {
  file: string;
  prediction?: { label: number; probability: number; probabilities: number[] };
  error?: string;
}
const predictionOf = (o: Outcome) => must(o.prediction, `the prediction for ${o.file}`);

let dir: string;
let images: string[];
const INDICES = [0, 1, 2]; // a 7, a 2 and a 1

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'predict-model-'));
  images = await Promise.all(INDICES.map((i) => digitPng(dir, i)));
});

function predictJson(model: string, files: readonly string[]): Outcome[] {
  const r = runCli('predict', [...files, '--model', model, '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

/** The sum of the 28x28 input predict makes of a PNG (the ink), computed as predict does. */
async function inkOf(file: string): Promise<number> {
  const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return mnistInput({ width: info.width, height: info.height, data }).reduce((a, b) => a + b, 0);
}

describe('a model whose output is not finite', () => {
  test('NaN probabilities: that file gets a one-line error, not "NaN%"; the others still answered; exit code 1', async () => {
    // probabilities = softmax(x W) * (sqrt(ink - c) / sqrt(ink - c)): NaN for inputs with less ink than c.
    const [inkA, inkB] = [await inkOf(images[0]), await inkOf(images[1])];
    expect(inkA).not.toBe(inkB);
    const [light, heavy] = inkA < inkB ? [images[0], images[1]] : [images[1], images[0]];
    const g = new Graph('nan-for-light-ink');
    const x = op.flatten(g.input('image', 'float32', ['N', 1, 28, 28]));
    const w = g.initializer(
      'w',
      'float32',
      [784, 10],
      Float32Array.from({ length: 7840 }, (_, i) => ((i * 7) % 13) / 100),
    );
    const root = op.sqrt(op.sub(op.reduceSum(x, [1], true), (inkA + inkB) / 2));
    g.output(op.mul(op.softmax(op.matmul(x, w)), op.div(root, root)), 'probabilities');
    const model = join(dir, 'nan.onnx');
    writeFileSync(model, serializeModel(g, { opset: 13 }));

    const r = runCli('predict', [light, heavy, '--model', model]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([`error: ${light}: the model's output is not finite (NaN); ${model} is broken`]);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(new RegExp(`^${heavy}: \\d \\(\\d+\\.\\d\\d%\\), runner-up \\d \\(\\d+\\.\\d\\d%\\)$`)),
    ]);
    expect(r.stdout).not.toContain('NaN');

    const json = runCli('predict', [light, heavy, '--model', model, '--json']);
    expect(json.status).toBe(1);
    expect(lines(json.stderr)).toEqual([`error: ${light}: the model's output is not finite (NaN); ${model} is broken`]);
    const outcomes: Outcome[] = JSON.parse(json.stdout);
    expect(outcomes[0]).toEqual({ file: light, error: `the model's output is not finite (NaN); ${model} is broken` });
    expect(predictionOf(outcomes[1]).probabilities.every(Number.isFinite)).toBe(true);
  });
});

describe('a model with a fixed batch size', () => {
  for (const size of [1, 2]) {
    test(`input [${size},1,28,28] with three images: run in chunks of ${size}, same answers as the shipped model`, () => {
      const model = join(dir, `batch-${size}.onnx`);
      writeFileSync(model, encodeModel(fixBatch(shippedModel(), size)));
      const fixed = predictJson(model, images);
      const free = predictJson(SHIPPED_MODEL, images);
      expect(fixed.map((o) => predictionOf(o).label)).toEqual(INDICES.map(digitLabel));
      fixed.forEach((o, i) => {
        expect(o.file).toBe(images[i]);
        predictionOf(o).probabilities.forEach((p, d) => {
          expect(p).toBeCloseTo(predictionOf(free[i]).probabilities[d], 6);
        });
      });
    });
  }

  test('a fixed batch of 2^28 images is refused in one line, before anything runs (a stack trace before)', () => {
    const model = join(dir, 'batch-2e28.onnx');
    writeFileSync(model, encodeModel(fixBatch(shippedModel(), 2 ** 28)));
    const r = runCli('predict', [images[0], '--model', model]);
    expect(lines(r.stderr)).toEqual([
      `error: ${model}: its input fixes the batch at 268435456 images (842 GB a run), ` +
        'more than predict feeds at once (1 GiB): export it with a free batch dimension',
    ]);
    expect(r.status).toBe(1);
  });
});

describe('a model whose input is not float32', () => {
  test('the shipped model with its input retyped uint8: one line naming the model and both types', () => {
    const m = shippedModel();
    must(graphOf(m).input[0].type?.tensorType, 'the input type').elemType = onnx.TensorProto.DataType.UINT8;
    const model = join(dir, 'uint8-retyped.onnx');
    writeFileSync(model, encodeModel(m));
    const r = runCli('predict', [images[0], '--model', model]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([`error: ${model}: the model's input image is uint8, expected float32`]);
    expect(r.stdout).toBe('');
  });

  test('a valid model that takes uint8 pixels (Cast inside): the same one-line error, no stack trace', () => {
    const g = new Graph('uint8-input');
    const x = op.flatten(op.cast(g.input('image', 'uint8', ['N', 1, 28, 28]), 'float32'));
    const w = g.initializer('w', 'float32', [784, 10], new Float32Array(7840).fill(0.01));
    g.output(op.softmax(op.matmul(x, w)), 'probabilities');
    const model = join(dir, 'uint8.onnx');
    writeFileSync(model, serializeModel(g, { opset: 13 }));
    const r = runCli('predict', [images[0], '--model', model]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([`error: ${model}: the model's input image is uint8, expected float32`]);
  });
});

describe('external data (an untrusted model must not read files of its choosing)', () => {
  /** A copy of the shipped model in a folder of its own, with its first initializer's data at `location`. */
  function externalModel(name: string, location: string): { model: string; folder: string; data: Uint8Array } {
    const folder = join(dir, name);
    mkdirSync(folder, { recursive: true });
    const m = shippedModel();
    const init = graphOf(m).initializer[0];
    const data = init.rawData ?? new Uint8Array(0);
    expect(data.length).toBeGreaterThan(0);
    init.rawData = new Uint8Array(0);
    init.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    init.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(data.length) },
    ];
    const model = join(folder, 'model.onnx');
    writeFileSync(model, encodeModel(m));
    return { model, folder, data };
  }

  test('data in a file beside the model: loaded from there, predictions equal the original', () => {
    const { model, folder, data } = externalModel('beside', 'weights.bin');
    writeFileSync(join(folder, 'weights.bin'), data);
    const outcomes = predictJson(model, images);
    expect(outcomes).toEqual(predictJson(SHIPPED_MODEL, images));
    expect(outcomes.map((o) => predictionOf(o).label)).toEqual(INDICES.map(digitLabel));
  });

  test('a location that is not a plain file name beside the model is refused, naming it', () => {
    const outside = join(dir, 'outside.bin');
    writeFileSync(outside, new Uint8Array(4096));
    const cases: [string, string, string][] = [
      // [folder, location, reason]: each location names a file that exists somewhere.
      ['cwd', 'package.json', 'no such file beside the model'], // ORT would have read ./package.json
      ['parent', '../outside.bin', 'only a plain file name beside the model is accepted'],
      ['absolute', outside, 'only a plain file name beside the model is accepted'],
      ['nested', 'sub/../../outside.bin', 'only a plain file name beside the model is accepted'],
    ];
    for (const [folder, location, reason] of cases) {
      const { model } = externalModel(folder, location);
      const r = runCli('predict', [images[0], '--model', model]);
      expect(r.status, location).toBe(1);
      expect(lines(r.stderr)).toEqual([`error: ${model}: refused external data location '${location}': ${reason}`]);
      expect(r.stdout).toBe('');
    }
  });

  test('a symbolic link beside the model that leads out of its folder is refused', () => {
    const { model, folder } = externalModel('symlink', 'weights.bin');
    symlinkSync(join(ROOT, 'package.json'), join(folder, 'weights.bin'));
    const r = runCli('predict', [images[0], '--model', model]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${model}: refused external data location 'weights.bin': it leads out of the model's folder`,
    ]);
  });

  test('external data in a Constant node, a sparse initializer and a subgraph is refused too', () => {
    const external = (location: string): onnxProto.onnx.ITensorProto => ({
      name: 't',
      dims: [1],
      dataType: onnx.TensorProto.DataType.FLOAT,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: location }],
    });
    const variants: [string, (m: onnxProto.onnx.ModelProto) => void][] = [
      [
        'constant',
        (m) =>
          graphOf(m).node.unshift(
            onnx.NodeProto.create({
              opType: 'Constant',
              output: ['c'],
              attribute: [
                { name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: external('../constant.bin') },
              ],
            }),
          ),
      ],
      [
        'sparse',
        (m) =>
          graphOf(m).sparseInitializer.push(
            onnx.SparseTensorProto.create({
              values: external('/etc/hostname'),
              indices: { name: 'i', dims: [1], dataType: 7, int64Data: [0] },
              dims: [1],
            }),
          ),
      ],
      [
        'subgraph',
        (m) =>
          graphOf(m).node.unshift(
            onnx.NodeProto.create({
              opType: 'If',
              input: ['cond'],
              output: ['y'],
              attribute: [
                {
                  name: 'then_branch',
                  type: onnx.AttributeProto.AttributeType.GRAPH,
                  g: { name: 'then', initializer: [external('package.json')] },
                },
              ],
            }),
          ),
      ],
    ];
    const expected = { constant: '../constant.bin', sparse: '/etc/hostname', subgraph: 'package.json' } as Record<
      string,
      string
    >;
    for (const [name, change] of variants) {
      const m = shippedModel();
      change(m);
      mkdirSync(join(dir, name), { recursive: true });
      const model = join(dir, name, 'model.onnx');
      writeFileSync(model, encodeModel(m));
      const r = runCli('predict', [images[0], '--model', model]);
      expect(r.status, name).toBe(1);
      expect(lines(r.stderr)[0]).toMatch(
        new RegExp(
          `^error: ${model}: ` +
            `refused external data location '${expected[name].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}': `,
        ),
      );
      expect(lines(r.stderr)).toHaveLength(1);
    }
  });

  test('a copy of the model elsewhere still needs its data beside it', () => {
    const { model, folder, data } = externalModel('moved', 'weights.bin');
    writeFileSync(join(folder, 'weights.bin'), data);
    const elsewhere = join(dir, 'elsewhere.onnx');
    copyFileSync(model, elsewhere);
    const r = runCli('predict', [images[0], '--model', elsewhere]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${elsewhere}: refused external data location 'weights.bin': no such file beside the model`,
    ]);
  });
});

describe('control flow, whose run time nothing bounds', () => {
  /**
   * The shipped model with `node` added to its graph (never
   * reached by its outputs: the check reads the graph, not a run).
   */
  function withNode(name: string, node: onnxProto.onnx.INodeProto): string {
    const m = shippedModel();
    graphOf(m).node.push(onnx.NodeProto.create(node));
    const file = join(dir, `${name}.onnx`);
    writeFileSync(file, encodeModel(m));
    return file;
  }

  test('a Loop is refused before anything runs (one of 2^62 iterations made predict hang)', () => {
    const loop = withNode('loop', {
      name: 'forever',
      opType: 'Loop',
      input: ['trip', 'cond'],
      output: ['out'],
      attribute: [{ name: 'body', type: onnx.AttributeProto.AttributeType.GRAPH, g: { name: 'body', node: [] } }],
    });
    const started = performance.now();
    const r = runCli('predict', [images[0], '--model', loop]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${loop}: it uses control flow (Loop node 'forever'), whose run time nothing bounds: ` +
        `only feed-forward models are run here`,
    ]);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  test('If nested 2,000 deep: one line, no stack overflow', () => {
    let inner: { name: string; node: onnxProto.onnx.INodeProto[] } = { name: 'leaf', node: [] };
    for (let i = 0; i < 2000; i++) {
      inner = {
        name: `g${i}`,
        node: [
          {
            name: `if${i}`,
            opType: 'If',
            input: ['cond'],
            output: [`o${i}`],
            attribute: [{ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: inner }],
          },
        ],
      };
    }
    const nested = withNode('nested', inner.node[0]);
    const r = runCli('predict', [images[0], '--model', nested]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${nested}: ` +
        `it uses control flow (If node 'if1999'), whose run time nothing bounds: only feed-forward models are run here`,
    ]);
  });
});
