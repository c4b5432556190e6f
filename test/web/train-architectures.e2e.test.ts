/**
 * Issue 30's architectures in the training page (Debian's Chromium, headless, on the built pages
 * from 127.0.0.1): each PyTorch export of test/fixtures/onnx/ (one per kind, opset 17 where there
 * are two: torchvision's MobileNetV3, EfficientNet, ShuffleNetV2 and DenseNet, SqueezeNet's fire
 * module, a small ViT, LSTM and GRU row classifiers and their bidirectional forms), chosen in
 * train.html as a user chooses an .onnx, trains a few steps on WebAssembly in the page's worker,
 * and its losses are onnxruntime-node's for the same model, recipe, seed and batches within 1e-4
 * (relative), as train-example.e2e.test.ts checks lenet5's (measured: 2e-7 at most).
 * WebGPU, whose adapter here is SwiftShader (a CPU implementation, seconds per step), is checked
 * on two only: the GRU's first step through the page's checked session (WebGPU agrees with
 * WebAssembly from the same feeds), and a network with overlapping MaxPool windows, whose gradient
 * a WebGPU graph cannot take (no MaxPool Indices there): the page trains it on WebAssembly and says why.
 * Without /usr/bin/chromium these tests are skipped with the reason, unless REQUIRE_BROWSER=1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/mnist.node.js';
import { importOnnx } from '../../src/model/onnx-import.js';
import { compareOutputs } from '../../src/train/core/agreement.js';
import { recipeFor } from '../../src/train/core/recipe.js';
import { browserAvailable, type DemoSite, noBrowser, openGuarded, serveDemo, textOf } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';
import { must } from '../helpers/must.js';
import { nodeLosses } from '../helpers/train.js';

const STATUS = '[data-testid=train-status]';
const BACKEND = '[data-testid=backend]';
/** Enough for momentum to act on what the gradients gave (each step's loss depends on the ones before). */
const STEPS = 5;
const BATCH = 64;
const ARCHITECTURES = [
  'tv-mobilenet-v3-17',
  'tv-efficientnet',
  'tv-shufflenet',
  'tv-densenet',
  'fire-gelu-17',
  'vit-17',
  'lstm-rows',
  'gru-rows',
  'bilstm-rows',
  'bigru-rows',
];

const fixture = (name: string) => join(ROOT, `test/fixtures/onnx/${name}.onnx`);

browserAvailable('architectures in the training page');

describe.skipIf(noBrowser)("issue 30's architectures in the training page (skipped without /usr/bin/chromium)", () => {
  let site: DemoSite;
  let data: Dataset;
  const outside: string[] = [];

  /** onnxruntime-node's losses for `name` on the page's recipe at `steps` steps. */
  const nodeSide = (name: string, steps: number) => {
    const { net } = importOnnx(readFileSync(fixture(name)), name);
    return nodeLosses(net, recipeFor({ kind: 'steps', steps }, data.train.count, { batchSize: BATCH }), data);
  };
  const relative = (page: number[], node: number[]) => node.map((l, i) => Math.abs(page[i] - l) / Math.abs(l));

  /** Chooses the fixture `name` in `page` as a user chooses an .onnx, for `steps` steps at BATCH, and starts it. */
  async function startRun(page: Page, name: string, steps: number): Promise<void> {
    await page.selectOption('[data-testid=train-batch]', String(BATCH));
    await page.fill('[data-testid=train-steps]', String(steps));
    await page.setInputFiles('[data-testid=train-model-file]', fixture(name));
    await page.waitForFunction(
      (id) => (document.querySelector('[data-testid=train-model]') as HTMLSelectElement).value === id,
      `file:${name}.onnx`,
    );
    await page.click('[data-testid=train-start]');
  }

  const ended = (page: Page) =>
    page.waitForFunction((s) => /^(done|error)/.test(document.querySelector(s)?.textContent ?? ''), STATUS, {
      timeout: 300_000,
      polling: 200,
    });

  beforeAll(async () => {
    // The flag gives pages on 127.0.0.1 SwiftShader's WebGPU adapter; the WebAssembly runs ask for wasm.
    site = await serveDemo(['--enable-unsafe-webgpu']);
    data = loadDataset();
  }, 180_000);

  afterAll(async () => {
    await site?.close();
    expect(outside).toEqual([]);
  });

  describe('on WebAssembly', () => {
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      ({ page, errors } = await openGuarded(site, 'train.html?backend=wasm', outside));
    }, 60_000);

    afterAll(async () => {
      await page?.close();
    });

    test.each(ARCHITECTURES)(
      '%s.onnx, chosen in the page, trains there as onnxruntime-node trains it',
      async (name) => {
        await startRun(page, name, STEPS);
        await ended(page);
        expect(await page.textContent(STATUS)).toMatch(new RegExp(`^done: ${STEPS} steps`));
        expect(await page.textContent(BACKEND)).toBe('wasm');
        const { losses, stepMs } = await page.evaluate(() => ({
          losses: window.mnistTrain.losses,
          stepMs: window.mnistTrain.stepMs,
        }));
        expect(losses).toHaveLength(STEPS);
        const diffs = relative(losses, await nodeSide(name, STEPS));
        console.log(
          `train page (wasm), ${name}.onnx: loss ${losses[0].toFixed(4)} -> ${losses[STEPS - 1].toFixed(4)}, ` +
            `steps ${stepMs.map((ms) => ms.toFixed(0)).join(' ')} ms; ` +
            `vs onnxruntime-node: ${diffs.map((d) => d.toExponential(1)).join(' ')}`,
        );
        for (const d of diffs) expect(d).toBeLessThan(1e-4);
        expect(errors).toEqual([]);
      },
      300_000,
    );
  });

  test("WebGPU: the GRU's first step goes through the checked session, agreeing with WebAssembly and onnxruntime-node", async () => {
    const { page, errors } = await openGuarded(site, 'train.html?backend=webgpu&check=1', outside);
    const started = Date.now();
    await startRun(page, 'gru-rows', 1);
    await page.waitForFunction(() => window.mnistTrain.losses.length >= 1 || window.mnistTrain.done, null, {
      timeout: 300_000,
      polling: 500,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(await page.textContent(BACKEND), (await page.textContent(STATUS)) ?? '').toBe('webgpu');
    const { losses, check } = await page.evaluate(() => {
      const c = window.mnistTrain.checks[0];
      const plain = (o: Record<string, Float32Array>) =>
        Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(v)]));
      return { losses: window.mnistTrain.losses, check: c && { webgpu: plain(c.webgpu), wasm: plain(c.wasm) } };
    });
    await page.close();
    const { webgpu, wasm } = must(check, 'the checked first step');
    const a = compareOutputs(wasm, webgpu);
    const [diff] = relative(losses, (await nodeSide('gru-rows', 1)).slice(0, 1));
    console.log(
      `train page (WebGPU, SwiftShader), gru-rows.onnx: first step in ${seconds.toFixed(0)} s with the session; ` +
        `WebGPU vs WebAssembly, ${Object.keys(wasm).length} outputs: worst ${a.worst.toExponential(1)} (${a.name}); ` +
        `loss vs onnxruntime-node ${diff.toExponential(1)}`,
    );
    expect(Object.keys(wasm)).toContain('loss');
    expect(a.mismatched).toEqual([]);
    expect(a.worst).toBeLessThan(1e-4);
    expect(a.worst).toBeGreaterThan(0); // WebGPU computed it: not every node went to the CPU provider
    expect(losses[0]).toBeCloseTo(webgpu.loss[0], 5);
    expect(diff).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
  }, 360_000);

  test("WebGPU: a network with overlapping MaxPool windows (SqueezeNet's fire module) trains on WebAssembly, and the page says why", async () => {
    const { page, errors } = await openGuarded(site, 'train.html?backend=webgpu', outside);
    await startRun(page, 'fire-gelu-17', STEPS);
    await ended(page);
    expect(await page.textContent(STATUS)).toMatch(new RegExp(`^done: ${STEPS} steps`));
    expect(await page.textContent(BACKEND)).toBe('wasm');
    const note = await textOf(page, '[data-testid=backend-note]');
    console.log(`train page (WebGPU chosen), fire-gelu-17.onnx: ${note}`);
    expect(note).toBe(
      "WebGPU cannot run this network's training step (MaxPool [3,3] stride [2,2]: a portable graph differentiates " +
        'only windows that tile the input (stride = kernel, no padding)): running on WebAssembly',
    );
    expect(await page.isVisible('[data-testid=backend-note]')).toBe(true);
    const losses = await page.evaluate(() => window.mnistTrain.losses);
    await page.close();
    for (const d of relative(losses, await nodeSide('fire-gelu-17', STEPS))) expect(d).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
  }, 300_000);
});
