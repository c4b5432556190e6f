/**
 * The pages on WebGPU, in headless Chromium with `--enable-unsafe-webgpu`, whose adapter here is
 * SwiftShader (a CPU implementation of WebGPU: correctness, not speed; a step of batch 64 takes
 * ~15 s). Checked through the pages themselves: the training page's worker runs each of its
 * first steps on WebGPU and, from the same feeds, on WebAssembly (`?check=N`, a test hook), and
 * the two must agree within 1e-4 of each output's scale, element by element (at batch 64 these
 * steps are smooth at rounding's scale: no max-pool near-tie flips, see src/train/core/agreement.ts); the draw page
 * reads digits on WebGPU as it does on WebAssembly; and a network onnxruntime-web's WebGPU gets wrong falls back to
 * WebAssembly, saying so. The bare graph check (one portable step, and the standard graph
 * refused): webgpu-step.e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundledMnistDir, loadSplit } from '../../src/data/mnist.node.js';
import { compareOutputs } from '../../src/train/core/agreement.js';
import { browserAvailable, type DemoSite, noBrowser, openGuarded, serveDemo, textOf } from '../helpers/browser.js';

const BACKEND = '[data-testid=backend]';
const CHECKED_STEPS = 2;

browserAvailable('WebGPU pages');

describe.skipIf(noBrowser)('the pages on WebGPU (SwiftShader; skipped without /usr/bin/chromium)', () => {
  let site: DemoSite;
  const outside: string[] = [];

  beforeAll(async () => {
    site = await serveDemo(['--enable-unsafe-webgpu']);
  }, 180_000);

  afterAll(async () => {
    await site?.close();
    expect(outside).toEqual([]);
  });

  test(`training page: its first ${CHECKED_STEPS} WebGPU steps equal the WebAssembly steps from the same state within 1e-4`, async () => {
    const { page, errors } = await openGuarded(site, `train.html?backend=webgpu&check=${CHECKED_STEPS}`, outside);
    await page.selectOption('[data-testid=train-batch]', '64');
    await page.fill('[data-testid=train-steps]', String(CHECKED_STEPS + 1));
    const started = Date.now();
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(
      (n) => window.mnistTrain.checks.filter(Boolean).length >= n || window.mnistTrain.done,
      CHECKED_STEPS,
      {
        timeout: 400_000,
        polling: 1000,
      },
    );
    const seconds = (Date.now() - started) / 1000;
    expect(await page.textContent(BACKEND)).toBe('webgpu');
    const adapter = await page.textContent('[data-testid=backend-choice] option[value=webgpu]');
    const checks = await page.evaluate(() =>
      window.mnistTrain.checks.map((c) => ({
        webgpu: Object.fromEntries(Object.entries(c.webgpu).map(([k, v]) => [k, Array.from(v)])),
        wasm: Object.fromEntries(Object.entries(c.wasm).map(([k, v]) => [k, Array.from(v)])),
      })),
    );
    const losses = await page.evaluate(() => window.mnistTrain.losses);
    expect(errors).toEqual([]);
    await page.close();

    expect(checks).toHaveLength(CHECKED_STEPS);
    checks.forEach(({ webgpu, wasm }, step) => {
      const a = compareOutputs(wasm, webgpu);
      console.log(
        `${adapter}: step ${step + 1} at batch 64, WebGPU vs WebAssembly from the same state, ` +
          `${Object.keys(wasm).length} outputs: worst ${a.worst.toExponential(1)} (${a.name}), ` +
          `spread ${a.worstSpread.toExponential(1)}, zero on both: ${a.zeros.length}`,
      );
      // The next state (parameters, momentum buffers), the loss and the correct count.
      expect(Object.keys(wasm)).toContain('loss');
      expect(Object.keys(wasm).filter((name) => name.endsWith('.next')).length).toBeGreaterThan(20);
      expect(a.mismatched).toEqual([]);
      // Zero in exact arithmetic: only the conv biases a BatchNorm cancels.
      expect(
        a.zeros.every((name) => /^conv\d\.bias\.momentum_buffer\.next$/.test(name)),
        a.zeros.join(', '),
      ).toBe(true);
      expect(a.worst).toBeLessThan(1e-4);
      // Not bit-equal: WebGPU computed it (had every node gone to the CPU provider, the two would be identical).
      expect(a.worst).toBeGreaterThan(0);
      // The loss the page reports is the step's.
      expect(losses[step]).toBeCloseTo(webgpu.loss[0], 5);
    });
    console.log(`training page on WebGPU: ${CHECKED_STEPS} checked steps in ${seconds.toFixed(0)} s`);
  }, 480_000);

  test('draw page: WebGPU by default where there is an adapter, the same probabilities as WebAssembly, and a chooser', async () => {
    const { page, errors } = await openGuarded(site, '', outside);
    const ready = () =>
      page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent === 'ready', null, {
        timeout: 120_000,
      });
    await ready();
    expect(await page.textContent(BACKEND)).toBe('webgpu');
    expect(await page.textContent('[data-testid=backend-choice] option[value=webgpu]')).toMatch(/^WebGPU \(.+\)$/);
    const split = loadSplit(bundledMnistDir(), 'test');
    const digits = Array.from({ length: 8 }, (_, i) =>
      Array.from(split.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255),
    );
    const classifyAll = () =>
      page.evaluate(async (inputs) => {
        const out: number[][] = [];
        for (const input of inputs) out.push(await window.mnistDemo.classify(input));
        return out;
      }, digits);
    const onWebgpu = await classifyAll();
    await page.selectOption('[data-testid=backend-choice]', 'wasm');
    await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'wasm', BACKEND);
    await ready();
    const onWasm = await classifyAll();
    let worst = 0;
    onWasm.forEach((p, i) => {
      for (const [d, v] of p.entries()) worst = Math.max(worst, Math.abs(v - onWebgpu[i][d]));
      expect(onWebgpu[i].indexOf(Math.max(...onWebgpu[i])), `digit ${i}`).toBe(split.labels[i]);
    });
    console.log(
      `draw page: 8 test digits, largest probability difference WebGPU vs WebAssembly ${worst.toExponential(1)}`,
    );
    expect(worst).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  test('a network WebGPU computes wrong (LeNet-5: a Conv with 6 input channels) trains on WebAssembly, and the page says why', async () => {
    const { page, errors } = await openGuarded(site, 'train.html?backend=webgpu', outside);
    await page.selectOption('[data-testid=train-model]', 'lenet5');
    await page.selectOption('[data-testid=train-batch]', '64');
    await page.fill('[data-testid=train-steps]', '20');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => window.mnistTrain.losses.length >= 5, null, { timeout: 240_000, polling: 500 });
    expect(await page.textContent(BACKEND)).toBe('wasm');
    const note = await textOf(page, '[data-testid=backend-note]');
    console.log(`LeNet-5 on WebGPU: ${note}`);
    expect(note).toMatch(
      /^WebGPU training step disagreed with WebAssembly \(spread .+ in .+; elementwise .+\): running on WebAssembly$/,
    );
    expect(await page.isVisible('[data-testid=backend-note]')).toBe(true);
    const losses = await page.evaluate(() => window.mnistTrain.losses);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
