/**
 * train.html on the user's own images, end to end (Debian's Chromium, headless, on the built
 * pages from 127.0.0.1): a folder of 2,000 coloured digits in three class folders (and a file
 * that is not an image) chosen with the directory picker; the page lists the classes and their
 * counts, its worker decodes them (colour, so the seed CNN takes 3x32x32), holds out a seeded
 * tenth, trains, and offers an .onnx whose card names the classes, and that `npm run predict`
 * reads by class name. A folder of one class is refused in one line.
 * Without /usr/bin/chromium these tests are skipped with the reason, unless REQUIRE_BROWSER=1.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundledMnistDir, loadSplit } from '../../src/data/mnist.node.js';
import { Classifier } from '../../src/export/classifier.node.js';
import { Rng } from '../../src/util/rng.js';
import {
  browserAvailable,
  type DemoSite,
  guardPage,
  noBrowser,
  saveDownload,
  serveDemo,
  textOf,
} from '../helpers/browser.js';
import { lines, runCli } from '../helpers/cli.js';

const STATUS = '[data-testid=train-status]';
const SUMMARY = '[data-testid=train-data-summary]';
const FOLDER = '[data-testid=train-data-folder]';
/** Digits of three classes, named as a user would name folders. */
const CLASSES = { one: 1, seven: 7, zero: 0 } as const;
const IMAGES = 2000;

browserAvailable('training page on a folder of images');

/** MNIST training digit `i` in a random colour on a random background, as 28x28 RGB PNG bytes. */
function colouredDigit(images: Uint8Array, i: number, rng: Rng): Promise<Buffer> {
  const fg = [rng.int(128) + 128, rng.int(256), rng.int(128)];
  const bg = [rng.int(96), rng.int(96), rng.int(96) + 96];
  const rgb = Buffer.alloc(784 * 3);
  for (let p = 0; p < 784; p++) {
    const a = images[i * 784 + p] / 255;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(bg[c] * (1 - a) + fg[c] * a);
  }
  return sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } })
    .png()
    .toBuffer();
}

/** `IMAGES` coloured digits split over the class folders, and a file that is not an image. */
async function writeTree(root: string): Promise<Record<string, number>> {
  const train = loadSplit(bundledMnistDir(), 'train');
  const rng = new Rng(3);
  const counts: Record<string, number> = {};
  const names = Object.keys(CLASSES) as (keyof typeof CLASSES)[];
  for (const name of names) mkdirSync(join(root, name), { recursive: true });
  for (let i = 0, written = 0; written < IMAGES; i++) {
    const name = names.find((n) => CLASSES[n] === train.labels[i]);
    if (!name) continue;
    writeFileSync(join(root, name, `${i}.png`), await colouredDigit(train.images, i, rng));
    counts[name] = (counts[name] ?? 0) + 1;
    written++;
  }
  writeFileSync(join(root, 'one', 'notes.txt'), 'not an image');
  return counts;
}

describe.skipIf(noBrowser)('train.html on a folder of images (skipped without /usr/bin/chromium)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-folder-'));
  const root = join(dir, 'digits');
  let counts: Record<string, number>;
  let site: DemoSite;
  let page: Page;
  let model: string;
  const errors: string[] = [];
  const outside: string[] = [];

  beforeAll(async () => {
    counts = await writeTree(root);
    site = await serveDemo();
    page = await site.browser.newPage({ viewport: { width: 1000, height: 900 }, acceptDownloads: true });
    await guardPage(page, errors, outside);
    await page.goto(`${site.url}train.html`);
    await page.setInputFiles(FOLDER, root);
    await page.waitForSelector(`${SUMMARY}:not([hidden])`);
    await page.check('[data-testid=train-length-epochs]');
    await page.fill('[data-testid=train-epochs]', '3');
    await page.selectOption('[data-testid=train-batch]', '64');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction((s) => /done|error/.test(document.querySelector(s)?.textContent ?? ''), STATUS, {
      timeout: 400_000,
      polling: 500,
    });
    await page.waitForFunction(
      () => !(document.querySelector('[data-testid=train-download-onnx]') as HTMLButtonElement).disabled,
    );
    const saved = await saveDownload(page, '[data-testid=train-download-onnx]', dir);
    expect(saved.name).toBe('digits-trained.onnx');
    model = saved.path;
  }, 600_000);

  afterAll(async () => {
    await site?.close();
  });

  test('the page lists the classes in folder order with their counts, and the file it skips', async () => {
    const perClass = Object.keys(CLASSES)
      .sort()
      .map((n) => `${n} ${counts[n].toLocaleString('en-US')}`)
      .join(', ');
    expect(await page.textContent(SUMMARY)).toBe(
      `digits: 3 classes, 2,000 images (${perClass}); 10% held out to test on; 1 file that is not an image skipped`,
    );
    expect(await page.inputValue('[data-testid=train-data]')).toBe('folder');
  });

  test('it trained on the images in the worker: a tenth held out, and the held-out images read', async () => {
    const status = await textOf(page, STATUS);
    console.log(
      `train page on a 2,000-image folder: ${status}; ${await page.textContent('[data-testid=train-notes]')}`,
    );
    expect(status).toMatch(/^model checked against the evaluation graph on 200 test images: .*0 different predictions/);
    expect(await page.textContent('[data-testid=train-notes]')).toBe(
      'digits: no test/ folder: 200 of 2000 images (10%, drawn from the seed) held out to test on',
    );
    const accuracy = await page.evaluate(() => window.mnistTrain.testAccuracy);
    expect(accuracy).toBeGreaterThan(0.9); // chance is a third
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
  });

  test('the download takes colour 32x32 images, names the classes in its card, and predict answers by name', async () => {
    const classifier = await Classifier.load(model);
    expect(classifier.inputShape).toEqual([3, 32, 32]);
    expect(classifier.classNames).toEqual(['one', 'seven', 'zero']);
    expect(classifier.preprocess).toBe('resize');
    await classifier.release();
    const test = loadSplit(bundledMnistDir(), 'test');
    const rng = new Rng(11);
    const files: [string, string][] = [];
    for (const [name, digit] of Object.entries(CLASSES)) {
      const i = test.labels.indexOf(digit);
      const file = join(dir, `new-${name}.png`);
      writeFileSync(file, await colouredDigit(test.images, i, rng));
      files.push([name, file]);
    }
    const r = runCli('predict', [...files.map(([, f]) => f), '--model', model]);
    expect(r.status).toBe(0);
    expect(lines(r.stdout).map((l) => l.replace(/ \(.*/, ''))).toEqual(files.map(([name, f]) => `${f}: ${name}`));
  });

  test('a folder of one class is refused in one line, and the run stays on what was chosen', async () => {
    const single = join(dir, 'single');
    mkdirSync(join(single, 'cats'), { recursive: true });
    writeFileSync(
      join(single, 'cats', 'a.png'),
      await colouredDigit(loadSplit(bundledMnistDir(), 'test').images, 0, new Rng(1)),
    );
    await page.setInputFiles(FOLDER, single);
    await page.waitForFunction((s) => /^error/.test(document.querySelector(s)?.textContent ?? ''), STATUS);
    expect(await page.textContent(STATUS)).toBe(
      "error: single: holds one class folder only ('cats'): a classifier needs at least two classes",
    );
    expect(await page.inputValue('[data-testid=train-data]')).toBe('folder');
  });
});
