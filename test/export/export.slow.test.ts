/**
 * Export: BatchNorm folded, Dropout gone, normalisation inside, lowest opset; the exported
 * file agrees with the evaluation graph of its checkpoint; metadata carries the model card.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from '../../src/util/ort.node.js';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Dataset, loadDataset, type Split } from '../../src/data/mnist.node.js';
import { foldBatchNorm } from '../../src/export/fold.js';
import { inferenceGraph, inferenceModelBytes } from '../../src/export/inference.js';
import { assertFaithful, ExportError, verifyExport } from '../../src/export/verify.node.js';
import { parseModel } from '../../src/graph/serialize.js';
import { copyState, type StateDict } from '../../src/model/state-dict.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { latestCheckpointDir } from '../../src/train/checkpoint.js';
import { recipe } from '../../src/train/core/recipe.js';
import { TrainingRun } from '../../src/train/training-run.js';
import { lines, runCli } from '../helpers/cli.js';
import { graphOf } from '../helpers/models.js';
import { entry } from '../helpers/must.js';
import { MNIST_NORMALIZATION } from '../../src/data/normalize.js';

const net = seedCnn();
let data: Dataset;
let runDir: string;
let state: StateDict;

function head(split: Split, count: number): Split {
  return { ...split, count, images: split.images.subarray(0, count * 784), labels: split.labels.subarray(0, count) };
}

beforeAll(async () => {
  data = loadDataset();
  runDir = mkdtempSync(join(tmpdir(), 'export-'));
  // A briefly trained network, so that BatchNorm statistics and weights are far from their initial values.
  const trainer = await TrainingRun.create(
    net,
    recipe({
      epochs: 1,
      batchSize: 64,
      schedule: { kind: 'constant' },
      seed: 3,
      dropout: 0.1,
      augment: null,
      trainLimit: 2000,
      testLimit: 500,
      threads: 2,
    }),
    data,
    runDir,
  );
  await trainer.run();
  state = copyState(trainer.modelState());
  await trainer.close();
});

describe('the inference graph', () => {
  test('has no BatchNormalization or Dropout, takes plain pixels and needs only opset 13', () => {
    const bytes = inferenceModelBytes(inferenceGraph(net, foldBatchNorm(net, state)));
    const model = parseModel(bytes);
    const ops = graphOf(model).node.map((n) => n.opType);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops).not.toContain('Dropout');
    expect(ops.filter((o) => o === 'Conv')).toHaveLength(8);
    expect(Number(model.opsetImport[0].version)).toBe(13);
    expect(Number(model.irVersion)).toBe(7);
    expect(graphOf(model).input.map((i) => i.name)).toEqual(['image']);
    expect(graphOf(model).output.map((o) => o.name)).toEqual(['logits', 'probabilities']);
  });

  test('agrees with the checkpoint evaluation graph within 1e-4 on 2,000 real test images', async () => {
    const bytes = inferenceModelBytes(inferenceGraph(net, foldBatchNorm(net, state)));
    const v = await verifyExport(net, state, bytes, head(data.test, 2000), MNIST_NORMALIZATION);
    expect(v.count).toBe(2000);
    expect(v.maxProbabilityDifference).toBeLessThan(1e-4);
    expect(v.disagreements).toBe(0);
    expect(v.correct / v.count).toBeGreaterThan(0.2); // briefly trained: well above chance, far from done
    expect(() => assertFaithful(v)).not.toThrow();
  });

  test('a model that does not match is refused', async () => {
    // Fold one BatchNorm wrongly: scale conv6's folded weights.
    const folded = foldBatchNorm(net, state);
    const w = entry(folded, 'conv6.weight');
    folded.set('conv6.weight', { shape: w.shape, data: w.data.map((x) => x * 1.5) });
    const v = await verifyExport(
      net,
      state,
      inferenceModelBytes(inferenceGraph(net, folded)),
      head(data.test, 500),
      MNIST_NORMALIZATION,
    );
    expect(() => assertFaithful(v)).toThrow(ExportError);
    expect(() => assertFaithful(v)).toThrow(
      /max probability difference .* \(limit 0\.0001\), \d+ different predictions; nothing was written/,
    );
  });

  test('batch sizes 1 and 257 give the same probabilities', async () => {
    const session = await ort.InferenceSession.create(
      inferenceModelBytes(inferenceGraph(net, foldBatchNorm(net, state))),
    );
    const pixels = Float32Array.from(data.test.images.subarray(0, 257 * 784), (v) => v / 255);
    const run = async (n: number) =>
      (await session.run({ image: new ort.Tensor('float32', pixels.subarray(0, n * 784), [n, 1, 28, 28]) }))
        .probabilities;
    const all = await run(257);
    const one = await run(1);
    expect(all.dims).toEqual([257, 10]);
    expect(one.dims).toEqual([1, 10]);
    for (let c = 0; c < 10; c++) expect(one.data[c]).toBeCloseTo(all.data[c] as number, 6);
  });
});

describe('broken checkpoints are refused, naming the tensor', () => {
  /** A copy of the trained state with one element of one tensor replaced. */
  function withValue(name: string, index: number, value: number): StateDict {
    const copy: StateDict = new Map(
      [...state].map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }]),
    );
    entry(copy, name).data[index] = value;
    return copy;
  }
  const foldError = (s: StateDict): string => {
    try {
      foldBatchNorm(net, s);
    } catch (e) {
      expect(e).toBeInstanceOf(ExportError);
      return (e as Error).message;
    }
    return 'no error';
  };

  test('NaN or infinity in any tensor', () => {
    expect(foldError(withValue('conv3.weight', 5, NaN))).toBe(
      "cannot export: 'conv3.weight' holds NaN (element 5); the model would compute NaN",
    );
    expect(foldError(withValue('bn2.running_mean', 0, Infinity))).toBe(
      "cannot export: 'bn2.running_mean' holds Infinity (element 0); the model would compute NaN",
    );
    expect(foldError(withValue('trans2.weight', 3, -Infinity))).toMatch(
      /^cannot export: 'trans2\.weight' holds -Infinity \(element 3\)/,
    );
  });

  test('a negative running variance (its square root would be NaN)', () => {
    expect(foldError(withValue('bn1.running_var', 2, -0.5))).toBe(
      "cannot export: 'bn1.running_var' holds -0.5 (element 2); " +
        'a variance cannot be negative (folding takes its square root)',
    );
  });

  test('a fold that overflows float32', () => {
    const huge = withValue('bn3.weight', 1, 3e38);
    entry(huge, 'bn3.running_var').data[1] = 0;
    expect(foldError(huge)).toMatch(
      /^cannot export: folding bn3 into conv3 gives -?Infinity in 'conv3\.(weight|bias)' \(element \d+\)$/,
    );
  });

  test('NaN from both graphs is not a match: verification refuses it', async () => {
    // Build the broken model by hand, past the fold's own check, as a buggy fold would.
    const broken = withValue('conv1.bias', 0, NaN);
    const folded = foldBatchNorm(net, state);
    entry(folded, 'conv1.bias').data[0] = NaN;
    const v = await verifyExport(
      net,
      broken,
      inferenceModelBytes(inferenceGraph(net, folded)),
      head(data.test, 200),
      MNIST_NORMALIZATION,
    );
    expect(v.nonFiniteEvaluation).toBe(200);
    expect(v.nonFiniteExported).toBe(200);
    expect(Number.isNaN(v.maxProbabilityDifference)).toBe(true);
    expect(() => assertFaithful(v)).toThrow(
      "the checkpoint's evaluation graph gives NaN or infinite outputs on 200 of 200 test images: " +
        'the checkpoint is broken; nothing was written',
    );
  });

  test('NaN from the exported model alone is refused', async () => {
    const folded = foldBatchNorm(net, state);
    entry(folded, 'conv6.weight').data[0] = NaN;
    const v = await verifyExport(
      net,
      state,
      inferenceModelBytes(inferenceGraph(net, folded)),
      head(data.test, 200),
      MNIST_NORMALIZATION,
    );
    expect(v.nonFiniteEvaluation).toBe(0);
    expect(v.nonFiniteExported).toBe(200);
    expect(() => assertFaithful(v)).toThrow(
      'the exported model gives NaN or infinite outputs on 200 of 200 test images; nothing was written',
    );
  });

  test('every comparison fails on NaN, and an empty verification is refused', () => {
    const good = {
      count: 10,
      correct: 9,
      confusion: [],
      maxProbabilityDifference: 1e-6,
      disagreements: 0,
      nonFiniteExported: 0,
      nonFiniteEvaluation: 0,
    };
    expect(() => assertFaithful(good)).not.toThrow();
    expect(() => assertFaithful({ ...good, maxProbabilityDifference: NaN })).toThrow(
      /max probability difference NaN \(limit 0\.0001\)/,
    );
    expect(() => assertFaithful({ ...good, disagreements: NaN })).toThrow(ExportError);
    expect(() => assertFaithful({ ...good, count: 0 })).toThrow(
      'no test images to verify the exported model on; nothing was written',
    );
  });
});

describe('npm run export', () => {
  test('writes the model and its card; the metadata parses and matches', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'export-cli-')), 'mnist.onnx');
    const r = runCli('export', ['--checkpoint', runDir, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /wrote .*mnist\.onnx \(opset 13\) and .*mnist\.json: test accuracy \d+\.\d\d% \(\d+\/10000\)/,
    );
    const meta = Object.fromEntries(
      parseModel(readFileSync(out)).metadataProps.map((p) => [p.key ?? '', p.value ?? '']),
    );
    const card = JSON.parse(readFileSync(out.replace(/\.onnx$/, '.json'), 'utf8'));
    expect(Number(meta.test_accuracy)).toBe(card.test_accuracy);
    expect(card.test_count).toBe(10000);
    expect(card.test_accuracy).toBeGreaterThan(0.2);
    expect(JSON.parse(meta.training_recipe).batchSize).toBe(64);
    expect(JSON.parse(meta.export_check).different_predictions).toBe(0);
    expect(meta.checkpoint).toBe(latestCheckpointDir(runDir));
    expect(meta.source_commit).toMatch(/^([0-9a-f]{40}(-dirty)?|unknown)$/);
    expect(meta.input).toMatch(/float32 \[N,1,28,28\], pixel values in \[0,1\]/);
    expect(Number.isNaN(Date.parse(meta.date))).toBe(false);
  });

  test('a folder without checkpoints is a one-line error', () => {
    const empty = mkdtempSync(join(tmpdir(), 'export-empty-'));
    const r = runCli('export', ['--checkpoint', empty, '--out', join(empty, 'm.onnx')]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([`error: ${empty}: neither a checkpoint nor a run folder with checkpoints`]);
  });
});
