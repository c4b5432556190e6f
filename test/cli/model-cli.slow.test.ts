/**
 * A network of one's own through every command: summary, train, exact resume, export (BatchNorm
 * folded into convs without bias; GroupNorm kept as standard ops), verification, the model
 * card, predict; and a run that refuses its model file once the file has been edited.
 * The model files are examples/ copied into a temporary folder, importing the package's
 * source by its absolute path, so that editing them touches nothing in the repository.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { onnx, parseModel } from '../../src/graph/serialize.js';
import { digitLabel, digitPng, firstOf } from '../helpers/digits.js';
import { lines, ROOT, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'model-cli-'));
/** examples/<name>.ts in the temporary folder, as .mts (ESM there, as in the repository). */
function copyExample(name: string): string {
  const file = join(dir, `${name}.mts`);
  const source = readFileSync(join(ROOT, 'examples', `${name}.ts`), 'utf8').replace(
    "from 'onnx-mnist-train'",
    `from '${join(ROOT, 'src/index.js')}'`,
  );
  writeFileSync(file, source);
  return file;
}
const quick = ['--train-limit', '512', '--test-limit', '200', '--threads', '1', '--batch-size', '64'];
const ok = (r: ReturnType<typeof runCli>) => {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r;
};
const opTypes = (file: string) => (parseModel(readFileSync(file)).graph?.node ?? []).map((n) => n.opType ?? '');

test('summary: the layers, block subtotals and the count PyTorch gives', () => {
  const r = ok(runCli('summary', ['--model', join(ROOT, 'examples/tiny-gap.ts')]));
  expect(r.stdout).toMatch(/block1\.0\.0 \(Conv2d-1\) +\[-1, 8, 26, 26\] +72/);
  expect(r.stdout).toContain('block2: 4,984 params (65.8%)');
  expect(r.stdout).toContain('Total params: 7,572');
});

test('a project that depends on this one writes its model file importing the package by name', () => {
  const project = mkdtempSync(join(tmpdir(), 'dependent-'));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'my-net', type: 'module', dependencies: { 'onnx-mnist-train': '*' } }),
  );
  mkdirSync(join(project, 'node_modules'));
  // as `npm install ../onnx-mnist-train` links it
  symlinkSync(ROOT, join(project, 'node_modules', 'onnx-mnist-train'), 'dir');
  const file = join(project, 'net.ts');
  writeFileSync(file, readFileSync(join(ROOT, 'examples/lenet5.ts')));
  const r = ok(runCli('summary', ['--model', file]));
  expect(r.stdout).toContain('Total params: 61,706');
});

describe('examples/resnet-gn.ts (GroupNorm, residual blocks, a Linear head: cross-entropy)', () => {
  const model = copyExample('resnet-gn');
  const straight = join(dir, 'resnet-straight');
  const split = join(dir, 'resnet-split');

  test('the run records its model and keeps a copy; 1 epoch + resume + 1 epoch equals 2 epochs straight', () => {
    ok(runCli('train', ['--model', model, ...quick, '--epochs', '2', '--out', straight]));
    ok(runCli('train', ['--model', model, ...quick, '--epochs', '1', '--out', split]));
    const record = JSON.parse(readFileSync(join(split, 'run.json'), 'utf8')).config.model;
    expect(record.file).toBe(model);
    expect(readFileSync(join(split, 'model.mts'), 'utf8')).toBe(readFileSync(model, 'utf8'));
    const resumed = ok(runCli('train', ['--epochs', '2', '--out', split, '--resume'])); // the model comes from the run
    expect(resumed.stdout).toMatch(/resuming from .*epoch-001/);
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      const a = readFileSync(join(straight, 'checkpoints', 'epoch-002', file));
      expect(a.equals(readFileSync(join(split, 'checkpoints', 'epoch-002', file))), file).toBe(true);
    }
  });

  test('an edited model file is refused by resume and export in one line; restored, it is accepted', () => {
    const original = readFileSync(model, 'utf8');
    writeFileSync(
      model,
      original.replace(
        'new GroupNorm(4, outChannels),\n    new ReLU()',
        'new GroupNorm(2, outChannels),\n    new ReLU()',
      ),
    );
    const copy = join(split, 'model.mts');
    const edited = new RegExp(
      `^error: ${model}: edited since the run started \\(SHA-256 [0-9a-f]{12}\\.\\.\\., ` +
        `now [0-9a-f]{12}\\.\\.\\.\\); restore it \\(the run keeps a copy: ${copy}\\) or start a new run$`,
    );
    const resume = runCli('train', ['--epochs', '3', '--out', split, '--resume']);
    expect(resume.status).toBe(1);
    expect(lines(resume.stderr)).toHaveLength(1);
    expect(resume.stderr.trim()).toMatch(edited);
    const exported = runCli('export', ['--checkpoint', split, '--out', join(dir, 'x.onnx')]);
    expect(exported.status).toBe(1);
    expect(exported.stderr.trim()).toMatch(edited);
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
    // Another model given with --model is refused too; the run's own copy is accepted.
    const other = runCli('train', [
      '--model',
      join(ROOT, 'examples/lenet5.ts'),
      '--epochs',
      '3',
      '--out',
      split,
      '--resume',
    ]);
    expect(lines(other.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^error: --model .*lenet5\\.ts: the run in ${split} trains ${model} \\(SHA-256 [0-9a-f]{12}\\.\\.\\.\\), ` +
            `not this model; start a new run to train it$`,
        ),
      ),
    ]);
    writeFileSync(model, original);
  });

  test('export keeps GroupNorm as standard ops, verifies, and writes the card', () => {
    const out = join(dir, 'resnet.onnx');
    const r = ok(runCli('export', ['--checkpoint', split, '--out', out]));
    expect(r.stdout).toMatch(/0 different predictions/);
    const ops = opTypes(out);
    expect(ops).toContain('ReduceMean');
    expect(ops).toContain('Gemm');
    expect(ops).not.toContain('BatchNormalization');
    const card = JSON.parse(readFileSync(join(dir, 'resnet.json'), 'utf8'));
    expect(card).toMatchObject({
      name: 'resnet-gn-mnist',
      parameters: 19714,
      classes: 10,
      input_shape: [1, 28, 28],
      model_file: { file: basename(model) },
    });
    expect(card.architecture).toContain('block2.shortcut: Conv2d 8->16, 1x1, stride 2x2 -> [N,16,14,14] (128)');
  });
});

describe('examples/tiny-gap.ts (convs without bias, each followed by BatchNorm)', () => {
  const model = copyExample('tiny-gap');
  const run = join(dir, 'tiny');
  const out = join(dir, 'tiny.onnx');

  test('trains, exports with every BatchNorm folded into its conv, and predict reads digits with it', async () => {
    ok(
      runCli('train', [
        '--model',
        model,
        ...quick,
        '--train-limit',
        '6000',
        '--batch-size',
        '32',
        '--epochs',
        '2',
        '--out',
        run,
      ]),
    );
    const exported = ok(runCli('export', ['--checkpoint', run, '--out', out]));
    const accuracy = Number(/test accuracy ([\d.]+)%/.exec(exported.stdout)?.[1]);
    expect(accuracy).toBeGreaterThan(90); // two epochs of a tenth of the training set: it learns
    const ops = opTypes(out);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops.filter((t) => t === 'Conv')).toHaveLength(8);
    const onnxModel = parseModel(readFileSync(out));
    const init = new Map((onnxModel.graph?.initializer ?? []).map((t) => [t.name, t]));
    // a bias the conv did not have, from its BatchNorm
    expect(init.get('block1.0.0.bias')?.dims?.map(Number)).toEqual([8]);
    expect(init.has('block1.0.1.running_mean')).toBe(false);
    expect(onnxModel.graph?.output?.map((o) => o.name)).toEqual(['logits', 'probabilities']);
    expect(onnxModel.graph?.input?.[0].type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.FLOAT);

    // predict serves it: ten real test digits, one of each class, read as the card's accuracy promises
    const indices = Array.from({ length: 10 }, (_, d) => firstOf(d));
    const pngs = await Promise.all(indices.map((i) => digitPng(dir, i)));
    const answers = JSON.parse(ok(runCli('predict', [...pngs, '--model', out, '--json'])).stdout) as {
      prediction: { label: number; probability: number };
    }[];
    expect(answers).toHaveLength(10);
    const right = answers.filter((a, k) => a.prediction.label === digitLabel(indices[k])).length;
    expect(right).toBeGreaterThanOrEqual(8);
  });
});
