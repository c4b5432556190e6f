/**
 * The training page's downloads end to end, in Debian's Chromium (headless, playwright-core)
 * on the built pages served from 127.0.0.1, as in train.e2e.test.ts: a short run, then the
 * .onnx (made and checked in the page by src/export's exporter) classifies real test digits
 * with `npm run predict` exactly as the page's onnxruntime-web does with the same bytes, and
 * the .safetensors holds the network's whole state dict under PyTorch's names.
 * Without /usr/bin/chromium these tests are skipped with the reason, unless REQUIRE_BROWSER=1
 * (CI sets it), in which case its absence is a failure.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readImage } from '../../src/cli/image-file.js';
import { assertFaithful, PROBABILITY_TOLERANCE, verifyExport } from '../../src/export/verify.node.js';
import type { StateDict } from '../../src/model/state-dict.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { mnistInput } from '../../src/preprocess/mnist-style.js';
import { decodeSafetensors } from '../../src/util/safetensors.node.js';
import {
  browserAvailable,
  type DemoSite,
  guardPage,
  noBrowser,
  saveDownload,
  serveDemo,
  textOf,
} from '../helpers/browser.js';
import { entry, must } from '../helpers/must.js';
import { runCli } from '../helpers/cli.js';
import { digitLabel, digitPng, firstOf, testSplit } from '../helpers/digits.js';
import { MNIST_NORMALIZATION } from '../../src/data/normalize.js';

const STATUS = '[data-testid=train-status]';
const ONNX = '[data-testid=train-download-onnx]';
const CHECKPOINT = '[data-testid=train-download-checkpoint]';
const STEPS = 60;

browserAvailable('training page download');

interface Outcome {
  file: string;
  prediction?: { label: number; probabilities: number[] };
  error?: string;
}

describe.skipIf(noBrowser)('training page downloads in Chromium (skipped without /usr/bin/chromium)', () => {
  let site: DemoSite;
  let page: Page;
  let dir: string;
  let onnxFile: string;
  let checkpointFile: string;
  const errors: string[] = [];
  const outside: string[] = [];

  /** Clicks `button` and saves what it downloads into `dir`; returns the path. */
  async function download(button: string, name: string): Promise<string> {
    const saved = await saveDownload(page, button, dir);
    expect(saved.name).toBe(name);
    return saved.path;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'train-download-'));
    site = await serveDemo();
    page = await site.browser.newPage({ viewport: { width: 1000, height: 900 }, acceptDownloads: true });
    await guardPage(page, errors, outside);
    await page.goto(`${site.url}train.html`);
    expect(await page.isDisabled(ONNX)).toBe(true);
    expect(await page.isDisabled(CHECKPOINT)).toBe(true);
    await page.fill('[data-testid=train-steps]', String(STEPS));
    await page.selectOption('[data-testid=train-batch]', '64');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction((s) => /done|error/.test(document.querySelector(s)?.textContent ?? ''), STATUS, {
      timeout: 300_000,
      polling: 500,
    });
    expect(await page.textContent(STATUS)).toMatch(new RegExp(`^done: ${STEPS} steps`));
    await page.waitForFunction((s) => !(document.querySelector(s) as HTMLButtonElement).disabled, ONNX);
    onnxFile = await download(ONNX, 'mnist-trained.onnx');
    checkpointFile = await download(CHECKPOINT, 'mnist-trained.safetensors');
  }, 480_000);

  afterAll(async () => {
    await site?.close();
  });

  test('the .onnx was offered only after the page checked it against the evaluation graph on the 10,000 test images', async () => {
    const check = must(await page.evaluate(() => window.mnistTrain.downloadCheck), 'the download check');
    const status = await textOf(page, STATUS);
    console.log(`train page download check after ${STEPS} steps of batch 64: ${status}`);
    expect(check.count).toBe(10_000);
    expect(check.disagreements).toBe(0);
    expect(check.maxProbabilityDifference).toBeLessThanOrEqual(PROBABILITY_TOLERANCE);
    expect(check.correct / check.count).toBeGreaterThan(0.5);
    expect(status).toMatch(/^model checked against the evaluation graph on 10,000 test images/);
  });

  test('`npm run predict` with the downloaded .onnx gives the probabilities the page computes with it, within 1e-4', async () => {
    const indices = [0, 1, 2, 3, 4, 7].map((label) => firstOf(label));
    const images = await Promise.all(indices.map((i) => digitPng(dir, i)));
    const r = runCli('predict', [...images, '--model', onnxFile, '--json']);
    expect(r.stderr.replace(/^npm warn.*\n/gm, '')).toBe('');
    expect(r.status).toBe(0);
    const outcomes = JSON.parse(r.stdout) as Outcome[];
    // The exact 28x28 inputs predict fed the model: its own preprocessing of the same files.
    const inputs = await Promise.all(images.map(async (f) => Array.from(mnistInput(await readImage(f)))));
    const model = Array.from(readFileSync(onnxFile));
    const inPage = await page.evaluate(([m, x, n]) => window.mnistTrain.classify(m, x, n), [
      model,
      inputs.flat(),
      inputs.length,
    ] as const);
    expect(inPage).toHaveLength(10 * images.length);
    let worst = 0;
    outcomes.forEach((o, i) => {
      expect(o.error, o.file).toBeUndefined();
      const cli = must(o.prediction, o.file).probabilities;
      expect(cli).toHaveLength(10);
      for (let c = 0; c < 10; c++) worst = Math.max(worst, Math.abs(cli[c] - inPage[i * 10 + c]));
    });
    const right = outcomes.filter((o, i) => o.prediction?.label === digitLabel(indices[i])).length;
    console.log(
      `downloaded model: predict (onnxruntime-node) vs the page (onnxruntime-web): ` +
        `largest probability difference ${worst.toExponential(2)}; ${right}/${images.length} digits right`,
    );
    expect(worst).toBeLessThanOrEqual(1e-4);
  }, 120_000);

  test('the .safetensors holds every state_dict name of the network with its shape, and agrees with the .onnx in Node', async () => {
    const { tensors, metadata } = decodeSafetensors(readFileSync(checkpointFile), checkpointFile);
    const net = seedCnn();
    const expected = new Map<string, readonly number[]>([...net.initialState(0)].map(([name, t]) => [name, t.shape]));
    for (const bn of net.batchNormPaths) expected.set(`${bn}.num_batches_tracked`, []);
    expect([...tensors.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, shape] of expected) expect(entry(tensors, name).shape, name).toEqual(shape);
    for (const [name, t] of tensors) {
      if (t.dtype === 'I64') expect(t.data[0], name).toBe(BigInt(STEPS));
      else expect(t.data.every(Number.isFinite), name).toBe(true);
    }
    expect(metadata.format).toBe('pt');
    // Node's own export check, on the downloaded state against the downloaded model.
    const state: StateDict = new Map();
    for (const [name, t] of tensors) if (t.dtype === 'F32') state.set(name, { shape: t.shape, data: t.data });
    const v = await verifyExport(net, state, readFileSync(onnxFile), testSplit(), MNIST_NORMALIZATION);
    assertFaithful(v);
    expect(v.count).toBe(10_000);
  }, 120_000);

  test('a stopped run offers the state where it stopped; nothing is offered while a run goes on', async () => {
    const second = await site.browser.newPage({ acceptDownloads: true });
    second.on('pageerror', (e) => errors.push(e.message));
    await second.goto(`${site.url}train.html`);
    await second.fill('[data-testid=train-steps]', '2000');
    await second.selectOption('[data-testid=train-batch]', '64');
    await second.click('[data-testid=train-start]');
    await second.waitForFunction(() => window.mnistTrain.losses.length >= 5, null, { timeout: 120_000 });
    expect(await second.isDisabled(ONNX)).toBe(true);
    expect(await second.isDisabled(CHECKPOINT)).toBe(true);
    await second.click('[data-testid=train-stop]');
    await second.waitForFunction((s) => (document.querySelector(s)?.textContent ?? '').includes('done'), STATUS, {
      timeout: 120_000,
    });
    const stoppedAt = await second.evaluate(() => window.mnistTrain.losses.length);
    expect(await second.evaluate(() => window.mnistTrain.snapshotStep)).toBe(stoppedAt);
    await second.waitForFunction((s) => !(document.querySelector(s) as HTMLButtonElement).disabled, CHECKPOINT);
    const [d] = await Promise.all([second.waitForEvent('download', { timeout: 120_000 }), second.click(CHECKPOINT)]);
    expect(d.suggestedFilename()).toBe('mnist-trained.safetensors');
    const path = join(dir, 'stopped.safetensors');
    await d.saveAs(path);
    const { tensors } = decodeSafetensors(readFileSync(path), path);
    const counters = [...tensors].filter(([name]) => name.endsWith('.num_batches_tracked'));
    expect(counters.length).toBeGreaterThan(0);
    for (const [name, t] of counters) expect(t.data[0], name).toBe(BigInt(stoppedAt));
    expect((await second.evaluate(() => window.mnistTrain.downloadCheck))?.disagreements).toBe(0);
    await second.close();
  }, 300_000);

  test('no console errors, and no request left 127.0.0.1', () => {
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
  });
});
