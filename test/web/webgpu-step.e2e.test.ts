/**
 * A portable training step (GraphOptions.portable) on onnxruntime-web's WebGPU execution
 * provider equals the same step on its WebAssembly one, in headless Chromium, whose WebGPU adapter
 * here is SwiftShader (a CPU implementation: correctness, not speed). The seed CNN from its
 * initial state, one batch of 32 real MNIST images: loss and every next state tensor (parameters
 * and momentum buffers) within 1e-4 of the tensor's largest value (at least 0.01). The gradients
 * of conv biases that a BatchNorm cancels are zero in exact arithmetic: there both backends must
 * give rounding noise under 1e-5 (measured: about 1e-6 on each), not a relative match. The page is a bare one: ORT's
 * own bundle from node_modules on a static server at 127.0.0.1 (navigator.gpu needs a secure context).
 */
import { createReadStream, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fillImages } from '../../src/data/batches.js';
import { bundledMnistDir, loadSplit } from '../../src/data/mnist.node.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { OPSET } from '../../src/train/core/opset.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';
import { browserAvailable, noBrowser } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';
import { launchChromium } from '../helpers/demo-site.js';
import { MNIST_NORMALIZATION, Normalizer } from '../../src/data/normalize.js';

const BATCH = 32;
/** Below this, a value is rounding noise around an exact zero (float32 sums of ~20,000 terms). */
const ZERO = 1e-5;
const ORT_DIST = join(ROOT, 'node_modules/onnxruntime-web/dist');
const PAGE = `<!doctype html><script type="module">
import * as ort from '/ort/ort.webgpu.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
window.stepOn = async (ep, model, feeds) => {
  const tensors = Object.fromEntries(Object.entries(feeds).map(([name, f]) =>
    [name, f.type === 'int64'
      ? new ort.Tensor('int64', BigInt64Array.from(f.data, BigInt), f.dims)
      : new ort.Tensor('float32', Float32Array.from(f.data), f.dims)]));
  const session = await ort.InferenceSession.create(Uint8Array.from(model), { executionProviders: [ep] });
  const out = await session.run(tensors);
  return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, Array.from(t.data, Number)]));
};
window.adapter = async () => {
  const a = navigator.gpu && await navigator.gpu.requestAdapter();
  return a ? a.info.architecture || a.info.vendor || 'unknown' : null;
};
</script>`;

browserAvailable('WebGPU step');

describe.skipIf(noBrowser)('the portable training step on WebGPU (skipped without /usr/bin/chromium)', () => {
  let server: Server;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
      const file = normalize(join(ORT_DIST, path.replace(/^\/ort\//, '')));
      if (!path.startsWith('/ort/') || !file.startsWith(ORT_DIST) || !existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' });
      createReadStream(file).pipe(res);
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    browser = await launchChromium(['--enable-unsafe-webgpu']);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('one step from the same state: WebGPU gives the WebAssembly loss and next state within 1e-4', async () => {
    const net = seedCnn().withDropout(0.1);
    const step = trainStepGraph(net, BATCH, DEFAULT_SGD, { portable: true });
    const train = loadSplit(bundledMnistDir(), 'train');
    const state = net.initialState(1);
    const images = new Float32Array(BATCH * 784);
    fillImages(train, 0, BATCH, images, Normalizer.for(train, MNIST_NORMALIZATION));
    const feeds: Record<string, { type: string; dims: number[]; data: number[] }> = {};
    for (const input of step.graph.inputs) {
      const dims = input.shape as number[];
      const size = dims.reduce((a, b) => a * b, 1);
      const data =
        state.get(input.name)?.data ??
        (input.name === 'input' ? images : input.name === 'target' ? train.labels.subarray(0, BATCH) : undefined);
      // no unit dropped; momentum buffers start at 0
      const filler = input.name === 'lr' ? 0.05 : input.name.endsWith('.mask') ? 1 / 0.9 : 0;
      feeds[input.name] = { type: input.dtype, dims, data: data ? Array.from(data) : new Array(size).fill(filler) };
    }
    const model = Array.from(serializeModel(step.graph, { opset: OPSET }));
    // The standard graph, same inputs: its training-mode BatchNormalization is refused on WebGPU,
    // which shows that the EP really runs these graphs (it does not hand them all to the CPU).
    const standard = Array.from(serializeModel(trainStepGraph(net, BATCH, DEFAULT_SGD).graph, { opset: OPSET }));

    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => 'stepOn' in window);
    const adapter = await page.evaluate(() => (window as unknown as { adapter(): Promise<string | null> }).adapter());
    expect(adapter, 'a WebGPU adapter (Chromium with --enable-unsafe-webgpu on 127.0.0.1)').not.toBeNull();
    type StepOn = (ep: string, model: number[], feeds: unknown) => Promise<Record<string, number[]>>;
    const run = (ep: string) =>
      page.evaluate(([e, m, f]) => (window as unknown as { stepOn: StepOn }).stepOn(e, m, f), [
        ep,
        model,
        feeds,
      ] as const);
    const wasm = await run('wasm');
    const started = performance.now();
    const webgpu = await run('webgpu');
    const seconds = (performance.now() - started) / 1000;
    const refused = await page.evaluate(
      ([m, f]) =>
        (window as unknown as { stepOn: StepOn })
          .stepOn('webgpu', m, f)
          .then(() => 'ran')
          .catch((e: Error) => e.message),
      [standard, feeds] as const,
    );
    expect(refused).toMatch(/BatchNormalization trainingMode is not supported/);
    await page.close();

    let worst = { name: '', diff: 0 };
    const zeros: string[] = [];
    const largest = (t: number[]) => Math.max(...t.map(Math.abs));
    for (const [name, a] of Object.entries(wasm)) {
      const b = webgpu[name];
      expect(b, name).toHaveLength(a.length);
      // Zero in exact arithmetic (a bias a BatchNorm cancels): both backends must say so, to rounding.
      if (largest(a) < ZERO) {
        expect(largest(b), `${name}: zero on wasm, not on WebGPU`).toBeLessThan(ZERO);
        zeros.push(name);
        continue;
      }
      const scale = Math.max(0.01, largest(a));
      const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / scale;
      if (diff > worst.diff) worst = { name, diff };
    }
    expect(
      zeros.every((name) => /^conv\d\.bias\.momentum_buffer\.next$/.test(name)),
      zeros.join(', '),
    ).toBe(true);
    console.log(
      `WebGPU (${adapter}) vs wasm, one step at batch ${BATCH}: worst ${worst.diff.toExponential(1)} ` +
        `(${worst.name}); zero on both: ${zeros.join(', ') || 'none'}; WebGPU session and step ${seconds.toFixed(1)} s`,
    );
    expect(Object.keys(webgpu).sort()).toEqual(Object.keys(wasm).sort());
    expect(Math.abs(webgpu.loss[0] - wasm.loss[0]) / wasm.loss[0]).toBeLessThan(1e-4);
    expect(worst.diff).toBeLessThan(1e-4);
  }, 300_000);
});
