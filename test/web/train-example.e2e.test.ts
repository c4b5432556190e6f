/**
 * A network of examples/ in the pages, end to end (Debian's Chromium, headless, on the built
 * pages from 127.0.0.1): train.html lists the examples present when it was built, trains the
 * residual GroupNorm net (strided convs, a Linear head: cross-entropy) in its worker, and
 * offers it as an .onnx (checked in the page) and a checkpoint under its PyTorch names; the
 * .onnx passes the CLI's verification against that checkpoint's state; the draw page serves it,
 * with bars for the classes its card gives, and refuses a model whose card says it takes
 * images the page cannot draw.
 * Without /usr/bin/chromium these tests are skipped with the reason, unless REQUIRE_BROWSER=1.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModelFile } from '../../src/cli/training-model.js';
import { loadDataset } from '../../src/data/mnist.node.js';
import { assertFaithful, verifyExport } from '../../src/export/verify.node.js';
import { importOnnx } from '../../src/model/onnx-import.js';
import type { StateDict } from '../../src/model/state-dict.js';
import { decodeSafetensors } from '../../src/util/safetensors.node.js';
import { browserAvailable, type DemoSite, guardPage, noBrowser, saveDownload, serveDemo } from '../helpers/browser.js';
import { entry, last } from '../helpers/must.js';
import { ROOT } from '../helpers/cli.js';
import onnxProto from 'onnx-proto';
import { parseModel } from '../../src/graph/serialize.js';
import { testSplit } from '../helpers/digits.js';
import { recipeFor } from '../../src/train/core/recipe.js';
import { nodeLosses } from '../helpers/train.js';
import { MNIST_NORMALIZATION } from '../../src/data/normalize.js';

const STATUS = '[data-testid=train-status]';
const STEPS = 60;

browserAvailable('examples in the pages');

describe.skipIf(noBrowser)('a model of examples/ in the pages (skipped without /usr/bin/chromium)', () => {
  let site: DemoSite;
  let page: Page;
  let onnx: Buffer;
  let checkpoint: Buffer;
  const errors: string[] = [];
  const outside: string[] = [];

  const download = async (button: string): Promise<Buffer> =>
    readFileSync((await saveDownload(page, button, mkdtempSync(join(tmpdir(), 'train-example-')))).path);

  beforeAll(async () => {
    site = await serveDemo();
    page = await site.browser.newPage({ viewport: { width: 1000, height: 900 }, acceptDownloads: true });
    await guardPage(page, errors, outside);
    await page.goto(`${site.url}train.html`);
    await page.selectOption('[data-testid=train-model]', 'resnet-gn');
    await page.fill('[data-testid=train-steps]', String(STEPS));
    await page.selectOption('[data-testid=train-batch]', '64');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction((s) => /done|error/.test(document.querySelector(s)?.textContent ?? ''), STATUS, {
      timeout: 400_000,
      polling: 500,
    });
    onnx = await download('[data-testid=train-download-onnx]');
    checkpoint = await download('[data-testid=train-download-checkpoint]');
  }, 600_000);

  afterAll(async () => {
    await site?.close();
  });

  test('the model chooser lists the built-in seed CNN and every examples/ file; the chosen one trains as onnxruntime-node trains it', async () => {
    const options = await page.$$eval('[data-testid=train-model] option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    );
    expect(options).toEqual(['builtin', 'lenet5', 'resnet-gn', 'seed-cnn-rgb', 'seed-cnn', 'tiny-gap']);
    const losses = await page.evaluate(() => window.mnistTrain.losses);
    expect(losses).toHaveLength(STEPS);
    // Node's side: the same model file, recipe and batches on onnxruntime-node, free-running.
    const { net } = await loadModelFile(join(ROOT, 'examples/resnet-gn.ts'));
    const data = loadDataset();
    const config = recipeFor({ kind: 'steps', steps: 5 }, data.train.count, { batchSize: 64 });
    const node = await nodeLosses(net, config, data);
    const diffs = node.map((l, i) => Math.abs(losses[i] - l) / Math.abs(l));
    console.log(
      `train page, examples/resnet-gn.ts: ${STEPS} steps, loss ${losses[0].toFixed(3)} ` +
        `-> ${last(losses).toFixed(3)}; first 5 vs onnxruntime-node: ${diffs.map((d) => d.toExponential(1)).join(' ')}`,
    );
    for (const d of diffs) expect(d).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
  });

  test("the checkpoint holds the network's state under PyTorch's names, and the .onnx passes the CLI's verification against it", async () => {
    const { net } = await loadModelFile(join(ROOT, 'examples/resnet-gn.ts'));
    const { tensors } = decodeSafetensors(checkpoint, 'mnist-trained.safetensors');
    // no BatchNorm: no num_batches_tracked
    expect([...tensors.keys()].sort()).toEqual(net.stateSpecs.map((s) => s.name).sort());
    const state: StateDict = new Map(
      net.stateSpecs.map((s) => {
        const t = entry(tensors, s.name);
        if (t.dtype !== 'F32') throw new Error(`${s.name} is ${t.dtype}`);
        expect(t.shape, s.name).toEqual(s.shape);
        return [s.name, { shape: t.shape, data: t.data }];
      }),
    );
    const check = await page.evaluate(() => window.mnistTrain.downloadCheck);
    expect(check?.disagreements).toBe(0);
    const v = await verifyExport(net, state, onnx, testSplit(), MNIST_NORMALIZATION);
    expect(() => assertFaithful(v)).not.toThrow();
    expect(v.correct).toBe(check?.correct); // the page's accuracy is the CLI's
  });

  test("the draw page serves it by the card in its metadata (classes, input shape), and refuses a card whose input is not the graph's", async () => {
    const draw = await site.browser.newPage({ viewport: { width: 1000, height: 900 } });
    const drawErrors: string[] = [];
    await guardPage(draw, drawErrors, outside);
    // The downloaded model, served as if exported into models/ (the draw page's public folder).
    let served: Uint8Array = onnx;
    await draw.route('**/resnet.onnx', (r) =>
      r.fulfill({ body: Buffer.from(served), contentType: 'application/octet-stream' }),
    );
    await draw.goto(`${site.url}index.html?model=resnet.onnx`);
    await draw.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent === 'ready');
    expect(await draw.textContent('[data-testid=model-card]')).toContain('resnet-gn, 19,714 parameters');
    expect(await draw.textContent('[data-testid=subtitle]')).toContain('A 19,714-parameter network');
    expect(await draw.$$eval('[data-testid=probabilities] li', (li) => li.length)).toBe(10);
    const digit = Array.from(testSplit().images.subarray(0, 784), (v) => v / 255);
    const probabilities = await draw.evaluate((x) => window.mnistDemo.classify(x), digit);
    expect(probabilities).toHaveLength(10);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);

    const m = parseModel(onnx);
    m.metadataProps = m.metadataProps.map((p) =>
      p.key === 'input_shape' ? { key: 'input_shape', value: '[3,32,32]' } : p,
    );
    served = onnxProto.onnx.ModelProto.encode(m).finish();
    await draw.reload();
    await draw.waitForFunction(() =>
      (document.querySelector('[data-testid=status]')?.textContent ?? '').startsWith('error'),
    );
    expect(await draw.textContent('[data-testid=status]')).toBe(
      'error: resnet.onnx: its image input is [1,28,28] per example; its card says [3,32,32]',
    );
    expect(drawErrors).toEqual([]);
    await draw.close();
  });

  test('an .onnx exported by PyTorch, chosen in the page, trains there as onnxruntime-node trains it; a file that is not one is refused in one line', async () => {
    const lenet = join(ROOT, 'test/fixtures/onnx/lenet5.onnx');
    await page.setInputFiles('[data-testid=train-model-file]', lenet);
    await page.waitForFunction(
      () => (document.querySelector('[data-testid=train-model]') as HTMLSelectElement).value === 'file:lenet5.onnx',
    );
    await page.fill('[data-testid=train-steps]', '5');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction((s) => /^(done|error)/.test(document.querySelector(s)?.textContent ?? ''), STATUS, {
      timeout: 300_000,
      polling: 500,
    });
    expect(await page.textContent(STATUS)).toMatch(/^done: 5 steps/);
    const losses = await page.evaluate(() => window.mnistTrain.losses);
    const { net } = importOnnx(readFileSync(lenet), 'lenet5');
    const data = loadDataset();
    const config = recipeFor({ kind: 'steps', steps: 5 }, data.train.count, { batchSize: 64 });
    const node = await nodeLosses(net, config, data);
    const diffs = node.map((l, i) => Math.abs(losses[i] - l) / Math.abs(l));
    console.log(
      `train page, lenet5.onnx from PyTorch: ` +
        `first 5 losses vs onnxruntime-node: ${diffs.map((d) => d.toExponential(1)).join(' ')}`,
    );
    for (const d of diffs) expect(d).toBeLessThan(1e-4);
    const saved = decodeSafetensors(await download('[data-testid=train-download-checkpoint]'), 'checkpoint').tensors;
    expect([...saved.keys()].sort()).toEqual(net.stateSpecs.map((s) => s.name).sort());

    const bad = join(mkdtempSync(join(tmpdir(), 'bad-onnx-')), 'notes.onnx');
    writeFileSync(bad, 'not a model');
    await page.setInputFiles('[data-testid=train-model-file]', bad);
    await page.waitForFunction(
      () => (document.querySelector('[data-testid=train-model]') as HTMLSelectElement).value === 'file:notes.onnx',
    );
    await page.click('[data-testid=train-start]');
    await page.waitForFunction((s) => (document.querySelector(s)?.textContent ?? '').startsWith('error'), STATUS, {
      timeout: 120_000,
    });
    expect(await page.textContent(STATUS)).toBe(
      'error: notes.onnx: not an ONNX model (invalid wire type 6 at offset 1)',
    );
    expect(errors).toEqual([]);
  }, 400_000);
});
