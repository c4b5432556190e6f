/**
 * `npm run bench:browser`: the pages in headless Debian Chromium, on each backend the browser
 * has (WebAssembly always; WebGPU when Chromium, started with `--enable-unsafe-webgpu`, gives the
 * page an adapter), each figure on its own JSON line naming the backend and the adapter.
 * - Inference: the draw page on one 28x28 real test digit at a time, timed in blocks of 50: the
 *   median over 10 blocks of the mean per run, after a warm-up block.
 * - Training: the training page's step (making the batch in its worker and running the
 *   training-step graph, on as many WebAssembly threads as the page gets) at batch 64 and 128,
 *   from scratch: the median over the steps after the first `--warmup` (the first steps allocate,
 *   and on WebGPU compile shaders and are checked against WebAssembly). Beside WebAssembly's,
 *   onnxruntime-node's step of the same recipe, batch and thread count, timed the same way (the
 *   training loop's own `ms`: making the batch and running the graph), and the ratio of the two.
 *
 * Flags: `--backend wasm|webgpu|both` (default both), `--steps N` timed steps per batch size,
 * `--warmup N`. Without flags a software WebGPU adapter (SwiftShader, a CPU implementation:
 * ~15 s a step) times 3 steps after 2; a real GPU the same 40 after 10 as WebAssembly.
 */
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { bundledMnistDir, loadDataset, loadSplit } from '../src/data/mnist.node.js';
import { serveDemo } from '../test/helpers/demo-site.js';
import { benchRecipe, withTrainer } from './trainer-steps.js';

const { values: args } = parseArgs({
  options: { backend: { type: 'string', default: 'both' }, steps: { type: 'string' }, warmup: { type: 'string' } },
});
if (!['wasm', 'webgpu', 'both'].includes(args.backend))
  throw new Error(`--backend: ${args.backend} is not wasm, webgpu or both`);
const count = (flag: 'steps' | 'warmup', value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (flag === 'steps' ? 1 : 0))
    throw new Error(`--${flag}: ${value} is not a whole number${flag === 'steps' ? ' >= 1' : ''}`);
  return n;
};
const STEPS = count('steps', args.steps);
const WARMUP = count('warmup', args.warmup);

type Backend = 'wasm' | 'webgpu';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const round = (v: number, digits: number) => Number(v.toFixed(digits));

/** The draw page's WebGPU adapter, as its backend chooser names it (null: none). */
async function adapterOf(browser: Browser, url: string): Promise<string | null> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=backend-choice] option').length > 0);
  const label = await page.evaluate(() => {
    const option = document.querySelector<HTMLOptionElement>('[data-testid=backend-choice] option[value=webgpu]');
    return option && !option.disabled ? option.textContent : null;
  });
  await page.close();
  return label?.match(/^WebGPU \((.*)\)$/)?.[1] ?? null;
}

async function inference(browser: Browser, url: string, backend: Backend, adapter: string | null): Promise<void> {
  const page = await browser.newPage();
  await page.goto(`${url}?backend=${backend}`);
  await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent === 'ready', null, {
    timeout: 120_000,
  });
  const running = await page.textContent('[data-testid=backend]');
  if (running !== backend) throw new Error(`draw page: asked for ${backend}, runs on ${running}`);
  const split = loadSplit(bundledMnistDir(), 'test');
  const inputs = Array.from({ length: 20 }, (_, i) =>
    Array.from(split.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255),
  );
  const blocks = await page.evaluate(async (digits) => {
    const means: number[] = [];
    for (let block = 0; block < 11; block++) {
      const t = performance.now();
      for (let i = 0; i < 50; i++) await window.mnistDemo.classify(digits[i % digits.length]);
      if (block > 0) means.push((performance.now() - t) / 50);
    }
    return means.sort((a, b) => a - b);
  }, inputs);
  await page.close();
  console.log(
    JSON.stringify({
      browser: `Chromium ${browser.version()} (headless)`,
      page: 'draw (inference)',
      backend: backend === 'wasm' ? 'onnxruntime-web wasm, 1 thread' : 'onnxruntime-web webgpu',
      adapter: backend === 'webgpu' ? adapter : undefined,
      runs: 50 * blocks.length,
      ms_per_digit_median: round(median(blocks), 3),
      ms_per_digit_min: round(blocks[0], 3),
    }),
  );
}

/** Trains `warmup` + `steps` steps at `batch` on the training page; returns the timed steps' times and the threads. */
async function trainingSteps(
  browser: Browser,
  url: string,
  backend: Backend,
  batch: number,
  warmup: number,
  steps: number,
): Promise<{ ms: number[]; threads: number }> {
  const page = await browser.newPage();
  // A page closed mid-step leaves that step's GPU work queued (on SwiftShader, seconds): give the next load time.
  await page.goto(`${url}train.html?backend=${backend}`, { timeout: 180_000 });
  // More steps than timed, so the run is still training (not evaluating 10,000 images) when the page closes.
  await page.fill('[data-testid=train-steps]', String(warmup + steps + 100));
  await page.selectOption('[data-testid=train-batch]', String(batch));
  await page.click('[data-testid=train-start]');
  await page.waitForFunction((n) => window.mnistTrain.stepMs.length >= n || window.mnistTrain.done, warmup + steps, {
    timeout: 3_600_000,
    polling: 500,
  });
  const { stepMs, threads, running, note, status } = await page.evaluate(() => ({
    ...window.mnistTrain,
    running: document.querySelector('[data-testid=backend]')?.textContent,
    note: document.querySelector('[data-testid=backend-note]')?.textContent,
    status: document.querySelector('[data-testid=train-status]')?.textContent ?? '(no status line)',
  }));
  await page.close();
  if (stepMs.length < warmup + steps) throw new Error(`training page at batch ${batch} on ${backend}: ${status}`);
  if (running !== backend)
    throw new Error(`training page at batch ${batch}: asked for ${backend}, ran on ${running} (${note})`);
  return { ms: stepMs.slice(warmup, warmup + steps), threads: threads ?? 0 };
}

/** onnxruntime-node's steps of the page's recipe at `batch` on `threads`, timed as the page times its own. */
async function nodeSteps(batch: number, threads: number, warmup: number, steps: number): Promise<number[]> {
  const ms: number[] = [];
  const config = { ...benchRecipe, batchSize: batch, threads, maxSteps: warmup + steps, testLimit: 100 };
  await withTrainer(config, loadDataset(), (run) =>
    run.run({
      onStep: (info) => {
        if (info.step > warmup) ms.push(info.ms);
      },
    }),
  );
  return ms;
}

async function training(browser: Browser, url: string, backend: Backend, adapter: string | null): Promise<void> {
  // A software adapter is a correctness check, not a speed one: a few steps say what there is to say.
  const software = backend === 'webgpu' && /swiftshader/i.test(adapter ?? '');
  const warmup = WARMUP ?? (software ? 2 : 10);
  const steps = STEPS ?? (software ? 3 : 40);
  const result: Record<string, number | string | null> = {
    browser: `Chromium ${browser.version()} (headless)`,
    page: 'train (worker)',
    backend: `onnxruntime-web ${backend}`,
  };
  if (backend === 'webgpu') result.adapter = adapter;
  for (const batch of [64, 128]) {
    const { ms, threads } = await trainingSteps(browser, url, backend, batch, warmup, steps);
    result.threads = threads;
    result[`train_step_ms_median_batch${batch}`] = round(median(ms), 1);
    result[`train_step_ms_min_batch${batch}`] = round(Math.min(...ms), 1);
    if (backend !== 'wasm') continue;
    const node = median(await nodeSteps(batch, threads, warmup, steps));
    result[`node_step_ms_median_batch${batch}`] = round(node, 1);
    result[`wasm_over_node_batch${batch}`] = round(median(ms) / node, 2);
  }
  result.steps_timed = steps;
  result.warmup_steps = warmup;
  console.log(JSON.stringify(result));
}

// The pages built for tests: the figures are read from their hooks (web-demo/shared/test-hooks.ts).
const site = await serveDemo(['--enable-unsafe-webgpu']);
try {
  const adapter = await adapterOf(site.browser, site.url);
  const backends: Backend[] = args.backend === 'both' ? ['wasm', 'webgpu'] : [args.backend as Backend];
  for (const backend of backends) {
    if (backend === 'webgpu' && !adapter) {
      if (args.backend === 'webgpu')
        throw new Error('--backend webgpu: this Chromium gives the page no WebGPU adapter');
      console.log(
        JSON.stringify({
          backend: 'onnxruntime-web webgpu',
          skipped: 'this Chromium gives the page no WebGPU adapter',
        }),
      );
      continue;
    }
    await inference(site.browser, site.url, backend, adapter);
    await training(site.browser, site.url, backend, adapter);
  }
} finally {
  await site.close();
}
