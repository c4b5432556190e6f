/**
 * `npm run bench:browser`: in-browser inference latency of the demo (onnxruntime-web,
 * WebAssembly, one thread) in headless Debian Chromium, for one 28x28 real test digit at a
 * time. The page's timer is coarse (not cross-origin isolated), so runs are timed in blocks of
 * 50: the figure is the median over 10 blocks of the mean per run, after a warm-up block.
 */
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';
import { bundledMnistDir, loadSplit } from '../src/data/mnist.js';

const config = fileURLToPath(new URL('../web-demo/vite.config.ts', import.meta.url));
await build({ configFile: config, logLevel: 'error' });
const server = await preview({ configFile: config, logLevel: 'error', preview: { port: 0, host: '127.0.0.1' } });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  await page.goto(server.resolvedUrls!.local[0]);
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
  const version = browser.version();
  console.log(
    JSON.stringify({
      browser: `Chromium ${version} (headless)`,
      backend: 'onnxruntime-web wasm, 1 thread',
      runs: 50 * blocks.length,
      ms_per_digit_median: Number(blocks[blocks.length >> 1].toFixed(3)),
      ms_per_digit_min: Number(blocks[0].toFixed(3)),
    }),
  );
} finally {
  await browser.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
}
