/**
 * The package as another project installs it (test/helpers/packaged.ts: `npm pack`'s tarball in
 * a fresh folder outside this repository, no TypeScript toolchain there): what the tarball
 * holds, and examples/node-transfer run as its README says: a network PyTorch exported, trained
 * on the digits 0-4, then only its dense head on 5-9, exported and checked; and the package's
 * command, `npx onnx-mnist-train`, with no `--`. The web example: test/web/packaged-web.e2e.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as ort from '../../src/util/ort.node.js';
import { installExample, jsonLines, pack, type Packed } from '../helpers/packaged.js';

let packed: Packed;
beforeAll(() => {
  packed = pack();
}, 300_000);

test('the tarball holds the built package and nothing of the repository’s sources or tests', () => {
  console.log(`tarball: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.files.length} files`);
  for (const file of [
    'dist/index.js',
    'dist/node.d.ts',
    'dist/web.js',
    'dist/cli/main.js',
    'dist/train/batch-worker.js',
    'docs/api.md',
  ])
    expect(packed.files).toContain(file);
  expect(packed.files.filter((p) => !/^(dist\/|docs\/api\.md$|README\.md$|package\.json$)/.test(p))).toEqual([]);
  expect(packed.size).toBeLessThan(400_000);
});

describe('examples/node-transfer, installed from the tarball', () => {
  let dir: string;
  beforeAll(() => {
    dir = installExample('node-transfer', packed.tarball, ['onnxruntime-node']);
  }, 300_000);

  test('no TypeScript toolchain is installed, and the example imports only packages and its own files', () => {
    expect(existsSync(join(dir, 'node_modules/typescript'))).toBe(false);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.mjs')))
      expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/from ['"]\.\.\//);
  });
  test('trains on 0-4, tunes only the head on 5-9, and exports a model that ORT runs', async () => {
    const out = execFileSync('node', ['transfer.mjs', '--limit', '3000'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 600_000,
    });
    const stages = jsonLines(out);
    console.log(out.trim());
    const [trained, before, tuned, exported] = stages as { accuracy: number; frozen: number; test_accuracy: number }[];
    expect(stages.map((s) => s.stage)).toEqual([
      'trained on 0-4',
      'before tuning, on 5-9',
      'head tuned on 5-9',
      'exported',
    ]);
    expect(trained.accuracy).toBeGreaterThan(0.8);
    expect(trained.frozen).toBe(0);
    expect(tuned.frozen).toBe(4); // the two convs' weights and biases
    expect(tuned.accuracy).toBeGreaterThan(before.accuracy + 0.4);
    const card = JSON.parse(readFileSync(join(dir, 'transfer.json'), 'utf8'));
    expect(card.test_accuracy).toBe(exported.test_accuracy);
    expect(card.class_names).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const session = await ort.InferenceSession.create(join(dir, 'transfer.onnx'));
    const result = await session.run({ image: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) });
    expect(result.probabilities.dims).toEqual([2, 10]);
  });

  test('npx onnx-mnist-train train --epochs 1 works with no --, and a TypeScript model file loads without a toolchain', () => {
    const run = spawnSync(
      'npx',
      ['onnx-mnist-train', 'train', '--epochs', '1', '--train-limit', '256', '--test-limit', '100', '--out', 'run'],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 300_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Test set: Average loss: \d+\.\d{4}, Accuracy: \d+\/100/m);
    expect(existsSync(join(dir, 'run/checkpoints/epoch-001/model.safetensors'))).toBe(true);
    writeFileSync(
      join(dir, 'net.ts'),
      "import { Flatten, Linear, Sequential } from 'onnx-mnist-train';\n" +
        'export default new Sequential({ flatten: new Flatten(), fc: new Linear(784 as number, 10) });\n',
    );
    const summary = spawnSync('npx', ['onnx-mnist-train', 'summary', '--model', 'net.ts'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(summary.status, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(/Total params: 7,850/);
    const unknown = spawnSync('npx', ['onnx-mnist-train', 'fly'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr.trim().split('\n').at(-1)).toBe(
      "error: 'fly' is not a command (train, export, predict, summary); onnx-mnist-train --help lists them",
    );
  });
});
