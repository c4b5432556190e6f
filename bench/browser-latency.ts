/**
 * `npm run bench:browser`: the pages in headless Debian Chromium, each figure on its own JSON line.
 * - Inference: the demo (onnxruntime-web, WebAssembly, one thread) on one 28x28 real test digit
 *   at a time, timed in blocks of 50: the median over 10 blocks of the mean per run, after a
 *   warm-up block.
 * - Training: the training page's step (making the batch in its worker and running the
 *   training-step graph with onnxruntime-web, on as many threads as the page gets) at batch 64
 *   and 128, from scratch: the median over the steps after the first WARMUP_STEPS (the first
 *   steps allocate and are several times slower).
 */
import type { Browser } from 'playwright-core';
import { bundledMnistDir, loadSplit } from '../src/data/mnist.node.js';
import { serveDemo } from '../test/helpers/demo-site.js';

const WARMUP_STEPS = 10;
const TIMED_STEPS = 40;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const round = (v: number, digits: number) => Number(v.toFixed(digits));

async function inference(browser: Browser, url: string): Promise<void> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('[data-testid=status]')!.textContent === 'ready');
  const split = loadSplit(bundledMnistDir(), 'test');
  const inputs = Array.from({ length: 20 }, (_, i) => Array.from(split.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255));
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
      backend: 'onnxruntime-web wasm, 1 thread',
      runs: 50 * blocks.length,
      ms_per_digit_median: round(median(blocks), 3),
      ms_per_digit_min: round(blocks[0], 3),
    }),
  );
}

/** Trains WARMUP_STEPS + TIMED_STEPS steps at `batch` on the training page; returns the step times and threads. */
async function trainingSteps(browser: Browser, url: string, batch: number): Promise<{ ms: number[]; threads: number }> {
  const page = await browser.newPage();
  await page.goto(`${url}train.html`);
  await page.fill('[data-testid=train-steps]', String(WARMUP_STEPS + TIMED_STEPS));
  await page.selectOption('[data-testid=train-batch]', String(batch));
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => window.mnistTrain.done, null, { timeout: 600_000, polling: 500 });
  const { stepMs, threads, status } = await page.evaluate(() => ({
    ...window.mnistTrain,
    status: document.querySelector('[data-testid=train-status]')!.textContent!,
  }));
  await page.close();
  if (!status.includes('done') || stepMs.length !== WARMUP_STEPS + TIMED_STEPS) throw new Error(`training page at batch ${batch}: ${status}`);
  return { ms: stepMs.slice(WARMUP_STEPS), threads: threads ?? 0 };
}

async function training(browser: Browser, url: string): Promise<void> {
  const result: Record<string, number | string> = {
    browser: `Chromium ${browser.version()} (headless)`,
    backend: 'onnxruntime-web wasm, training page worker',
  };
  for (const batch of [64, 128]) {
    const { ms, threads } = await trainingSteps(browser, url, batch);
    result.threads = threads;
    result[`train_step_ms_median_batch${batch}`] = round(median(ms), 1);
    result[`train_step_ms_min_batch${batch}`] = round(Math.min(...ms), 1);
  }
  result.steps_timed = TIMED_STEPS;
  result.warmup_steps = WARMUP_STEPS;
  console.log(JSON.stringify(result));
}

// The pages built for tests: the figures are read from their hooks (web-demo/shared/test-hooks.ts).
const site = await serveDemo();
try {
  await inference(site.browser, site.url);
  await training(site.browser, site.url);
} finally {
  await site.close();
}
