/**
 * examples/web-worker as another project installs it (test/helpers/packaged.ts): `npm pack`'s
 * tarball, onnxruntime-web and Vite in a fresh folder outside this repository; Vite builds the
 * page with no configuration, Chromium opens it, and the page trains in its Worker with
 * `onnx-mnist-train/web` on WebAssembly. Its 20 losses equal those of the same training on
 * `onnx-mnist-train/node` (the example's node-losses.mjs) within 1e-5.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { browserAvailable, guardPage, noBrowser } from '../helpers/browser.js';
import { must } from '../helpers/must.js';
import { launchChromium } from '../helpers/demo-site.js';
import { installExample, pack } from '../helpers/packaged.js';

browserAvailable('packaged web example');

describe.skipIf(noBrowser)(
  'examples/web-worker, installed from the tarball and built by Vite (skipped without /usr/bin/chromium)',
  () => {
    let dir: string;
    beforeAll(() => {
      dir = installExample('web-worker', pack().tarball, ['onnxruntime-web', 'onnxruntime-node', 'vite']);
      execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    }, 600_000);
    test('the page trains in its Worker on WebAssembly, and its 20 losses equal onnx-mnist-train/node’s within 1e-5', async () => {
      const { preview }: typeof import('vite') = await import(join(dir, 'node_modules/vite/dist/node/index.js'));
      const server = await preview({
        root: dir,
        logLevel: 'error',
        preview: { port: 0, host: '127.0.0.1', strictPort: false },
      });
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        const outside: string[] = [];
        await guardPage(page, errors, outside);
        await page.goto(must(server.resolvedUrls, 'the dev server URLs').local[0]);
        await page.waitForFunction(() => window.training.done !== null || window.training.error !== null, null, {
          timeout: 180_000,
        });
        const training = await page.evaluate(() => window.training);
        expect(training.error).toBeNull();
        expect(training.done?.steps).toBe(20);
        expect(await page.textContent('#status')).toMatch(/^done: 20 steps, test accuracy \d+\.\d%$/);
        expect(outside).toEqual([]);
        const node: number[] = JSON.parse(
          execFileSync('node', ['node-losses.mjs'], { cwd: dir, encoding: 'utf8', timeout: 120_000 }),
        );
        expect(node).toHaveLength(20);
        const differences = node.map((l, i) => Math.abs(l - training.losses[i]) / Math.max(Math.abs(l), 1e-3));
        console.log(`web vs node, relative loss differences: ${differences.map((d) => d.toExponential(1)).join(' ')}`);
        expect(training.losses[19]).toBeLessThan(0.5 * training.losses[0]);
        for (const [i, d] of differences.entries())
          expect(d, `step ${i + 1}: web ${training.losses[i]}, node ${node[i]}`).toBeLessThan(1e-5);
      } finally {
        await browser.close();
        await new Promise((resolve) => server.httpServer.close(resolve));
      }
    });
  },
);

declare global {
  interface Window {
    training: { losses: number[]; done: { steps: number; accuracy: number } | null; error: string | null };
  }
}
