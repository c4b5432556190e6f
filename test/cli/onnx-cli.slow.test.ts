/**
 * A model exported by PyTorch through every command (`--model x.onnx`): summary, train, the
 * run's record and copy, exact resume, export (BatchNorm folded into the convs, which had no
 * bias), verification and the card, with checkpoints under the initializers' names (PyTorch's
 * state_dict keys, num_batches_tracked included, so load_state_dict(strict=True) takes them).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseModel } from '../../src/graph/serialize.js';
import { decodeSafetensors } from '../../src/util/safetensors.node.js';
import { lines, ROOT, runCli } from '../helpers/cli.js';
import { graphOf } from '../helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-cli-'));
const fixture = (name: string) => join(ROOT, 'test/fixtures/onnx', `${name}.onnx`);
const quick = ['--train-limit', '512', '--test-limit', '200', '--threads', '1', '--batch-size', '64'];
const ok = (r: ReturnType<typeof runCli>) => {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r;
};

test('summary: the imported layers by their PyTorch names, and the count PyTorch gives', () => {
  const r = ok(runCli('summary', ['--model', fixture('lenet5')]));
  expect(r.stdout).toMatch(/7 \(Linear-1\) +\[-1, 120\] +48,120/);
  expect(r.stdout).toContain('Total params: 61,706');
  expect(r.stdout).toContain('Forward MACs per image: 416,520');
});

describe('bn-residual.onnx (BatchNorm, a residual add, a stride-2 conv, view(x.size(0), -1), Linear)', () => {
  const model = join(dir, 'bn-residual.onnx');
  copyFileSync(fixture('bn-residual'), model);
  const straight = join(dir, 'straight');
  const split = join(dir, 'split');

  test('trains; 1 epoch + resume + 1 epoch equals 2 straight; the checkpoint holds the state_dict', () => {
    ok(runCli('train', ['--model', model, ...quick, '--epochs', '2', '--out', straight]));
    ok(runCli('train', ['--model', model, ...quick, '--epochs', '1', '--out', split]));
    expect(JSON.parse(readFileSync(join(split, 'run.json'), 'utf8')).config.model.file).toBe(model);
    expect(readFileSync(join(split, 'model.onnx')).equals(readFileSync(model))).toBe(true);
    ok(runCli('train', ['--epochs', '2', '--out', split, '--resume']));
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      expect(
        readFileSync(join(straight, 'checkpoints/epoch-002', file)).equals(
          readFileSync(join(split, 'checkpoints/epoch-002', file)),
        ),
        file,
      ).toBe(true);
    }
    const initializers = (parseModel(readFileSync(model)).graph?.initializer ?? []).map((t) => t.name ?? '');
    const saved = [
      ...decodeSafetensors(
        readFileSync(join(split, 'checkpoints/epoch-002/model.safetensors')),
        'model',
      ).tensors.keys(),
    ];
    expect(saved.sort()).toEqual([...initializers, 'bn1.num_batches_tracked', 'bn2.num_batches_tracked'].sort());
  });

  test('an edited .onnx is refused on resume, in one line', () => {
    const bytes = readFileSync(model);
    // an empty field 1: still a model, other bytes
    writeFileSync(model, Buffer.concat([bytes, Buffer.from([0x0a, 0])]));
    const r = runCli('train', ['--epochs', '3', '--out', split, '--resume']);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^error: ${model}: edited since the run started`)),
    ]);
    writeFileSync(model, bytes);
  });

  test('export folds each BatchNorm into the conv before it and verifies', () => {
    const out = join(dir, 'bn-residual-trained.onnx');
    const r = ok(runCli('export', ['--checkpoint', split, '--out', out]));
    expect(r.stdout).toMatch(/0 different predictions/);
    const graph = graphOf(parseModel(readFileSync(out)));
    expect(graph.node.map((n) => n.opType)).not.toContain('BatchNormalization');
    expect(graph.initializer.find((t) => t.name === 'conv1.bias')?.dims?.map(Number)).toEqual([8]);
    const card = JSON.parse(readFileSync(join(dir, 'bn-residual-trained.json'), 'utf8'));
    expect(card).toMatchObject({ name: 'bn-residual-mnist', parameters: 9698, classes: 10, input_shape: [1, 28, 28] });
    expect(existsSync(out)).toBe(true);
  });
});

test('--loss is recorded, and a resumed run keeps it', () => {
  const run = join(dir, 'loss');
  ok(
    runCli('train', ['--model', fixture('lenet5'), ...quick, '--epochs', '1', '--loss', 'cross-entropy', '--out', run]),
  );
  expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).config.loss).toBe('cross-entropy');
  const r = runCli('train', ['--epochs', '2', '--loss', 'nll', '--out', run, '--resume']);
  expect(lines(r.stderr)).toEqual([
    'error: --loss nll: a resumed run keeps its recipe (this run has cross-entropy); start a new run to change it',
  ]);
});
