/**
 * The training page end to end: Debian's Chromium (headless, driven by playwright-core) on the
 * built pages served from 127.0.0.1, as in demo.e2e.test.ts. The seed CNN trains from scratch
 * in the page's worker with onnxruntime-web; the same core on onnxruntime-node, in this
 * process, is the reference.
 * Without /usr/bin/chromium these tests are skipped with the reason, unless REQUIRE_BROWSER=1
 * (CI sets it), in which case its absence is a failure.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Dataset, loadDataset } from '../../src/data/mnist.node.js';
import { type CarriedEntry, trainStepGraph } from '../../src/model/graphs.js';
import type { StateDict } from '../../src/model/state-dict.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import type { TrainConfig } from '../../src/train/core/config.js';
import type { ResumePoint } from '../../src/train/core/trainer.js';
import { recipeFor } from '../../src/train/core/recipe.js';
import {
  browserAvailable,
  type DemoSite,
  devServer,
  noBrowser,
  openGuarded,
  serveDemo,
  textOf,
} from '../helpers/browser.js';
import { entry } from '../helpers/must.js';
import { nodeLosses } from '../helpers/train.js';

const STATUS = '[data-testid=train-status]';

browserAvailable('training page');

describe.skipIf(noBrowser)('training page in Chromium (skipped without /usr/bin/chromium)', () => {
  let site: DemoSite;
  const outside: string[] = [];

  beforeAll(async () => {
    site = await serveDemo();
  }, 180_000);

  afterAll(async () => {
    await site?.close();
  });

  /** train.html, recording console errors and refusing (and recording) any request off 127.0.0.1. */
  const open = (query = '') => openGuarded(site, `train.html${query}`, outside);

  /** Clicks Start and waits for the status to say "done" (or an error); returns the seconds it took. */
  async function startAndWait(page: Page, timeout: number): Promise<number> {
    const started = Date.now();
    await page.click('[data-testid=train-start]');
    await page.waitForFunction((s) => /done|error/.test(document.querySelector(s)?.textContent ?? ''), STATUS, {
      timeout,
      polling: 500,
    });
    return (Date.now() - started) / 1000;
  }

  test('300 steps of batch 128 from scratch reach >= 90% test accuracy', async () => {
    const { page, errors } = await open();
    await page.fill('[data-testid=train-steps]', '300');
    const seconds = await startAndWait(page, 560_000);
    const status = await textOf(page, STATUS);
    const accuracy = await textOf(page, '[data-testid=train-test-accuracy]');
    console.log(
      `train page: 300 steps of batch 128 from scratch in ${seconds.toFixed(1)} s (click to "done"), ` +
        `test accuracy ${accuracy}; status: ${status}`,
    );
    expect(status).toContain('done');
    expect(accuracy).toMatch(/^\d{1,3}\.\d\d%$/);
    expect(Number.parseFloat(accuracy)).toBeGreaterThanOrEqual(90);
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);

  test('pause holds the run at a step, resume continues it, stop ends it with the accuracy where it stopped; the page stays responsive', async () => {
    const { page, errors } = await open();
    await page.fill('[data-testid=train-steps]', '2000');
    await page.click('[data-testid=train-start]');
    const step = () => page.evaluate(() => window.mnistTrain.losses.length);
    await page.waitForFunction(() => window.mnistTrain.losses.length >= 3, null, { timeout: 60_000 });
    // The main thread answers within a frame or so while the worker trains.
    const frameMs = await page.evaluate(async () => {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        await new Promise((r) => requestAnimationFrame(r));
        times.push(performance.now() - t);
      }
      return Math.max(...times);
    });
    await page.click('[data-testid=train-pause]');
    await page.waitForFunction(
      (s) => (document.querySelector(s)?.textContent ?? '').startsWith('paused at step'),
      STATUS,
    );
    const held = await step();
    await page.waitForTimeout(2000);
    expect(await step()).toBe(held);
    await page.click('[data-testid=train-resume]');
    await page.waitForFunction((n) => window.mnistTrain.losses.length >= n + 2, held);
    await page.click('[data-testid=train-stop]');
    await page.waitForFunction((s) => (document.querySelector(s)?.textContent ?? '').includes('done'), STATUS, {
      timeout: 120_000,
    });
    const stoppedAt = await step();
    const status = await textOf(page, STATUS);
    console.log(
      `train page: paused at step ${held}, stopped at step ${stoppedAt}; ` +
        `slowest frame while training ${frameMs.toFixed(0)} ms; status: ${status}`,
    );
    expect(status).toMatch(new RegExp(`^done \\(stopped at step ${stoppedAt}\\)`));
    expect(await page.textContent('[data-testid=train-test-accuracy]')).toMatch(/^\d{1,3}\.\d\d%$/);
    expect(frameMs).toBeLessThan(1000);
    // Cross-origin isolated (the COOP/COEP headers), so onnxruntime-web ran on every core.
    expect(
      await page.evaluate(() => crossOriginIsolated && window.mnistTrain.threads === navigator.hardwareConcurrency),
    ).toBe(true);
    expect(await page.isEnabled('[data-testid=train-start]')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  test('a bad number of steps, and MNIST missing from the server, each give a clear message on the page', async () => {
    const { page, errors } = await open();
    await page.fill('[data-testid=train-steps]', '0');
    await page.click('[data-testid=train-start]');
    expect(await page.textContent(STATUS)).toBe('error: steps must be a whole number from 1 to 1,000,000');
    await page
      .context()
      .route('**/mnist/t10k-labels-idx1-ubyte.gz', (route) => route.fulfill({ status: 404, body: 'not here' }));
    await page.fill('[data-testid=train-steps]', '5');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction((s) => (document.querySelector(s)?.textContent ?? '').startsWith('error'), STATUS, {
      timeout: 60_000,
    });
    expect(await page.textContent(STATUS)).toBe(
      `error: could not load ${site.url}mnist/t10k-labels-idx1-ubyte.gz (HTTP 404)`,
    );
    expect(await page.isEnabled('[data-testid=train-start]')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  describe('equal to onnxruntime-node', () => {
    const STEPS = 20;
    let data: Dataset;
    let config: TrainConfig;
    let layout: readonly CarriedEntry[];
    let browserLosses: number[];
    let browserStates: Record<string, number[]>[];

    /** Node's side: the same core with onnxruntime-node; `steps` from `resume`'s state, or from scratch. */
    const nodeSteps = (steps: number, resume?: ResumePoint): Promise<number[]> =>
      nodeLosses(
        seedCnn({ dropout: config.dropout }),
        { ...config, maxSteps: (resume?.position.step ?? 0) + steps },
        data,
        resume,
      );

    /** The browser's state before `step` as a resume point for the core. */
    function browserResume(step: number): ResumePoint {
      const pick = (optimizer: boolean): StateDict =>
        new Map(
          layout
            .filter((e) => (e.role === 'optimizer') === optimizer)
            .map((e) => [e.name, { shape: e.shape, data: Float32Array.from(browserStates[step][e.name]) }]),
        );
      return {
        model: pick(false),
        optimizer: pick(true),
        position: { epoch: 0, batch: step, step },
        metrics: [],
        savedAt: `the browser's state before step ${step}`,
      };
    }

    const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

    beforeAll(async () => {
      data = loadDataset();
      // the page's defaults: the CLI's recipe, batch 128
      config = recipeFor({ kind: 'steps', steps: STEPS }, data.train.count);
      layout = trainStepGraph(seedCnn({ dropout: config.dropout }), config.batchSize, config.optimizer).carried;
      const { page, errors } = await open(`?trace=${STEPS}`);
      await page.fill('[data-testid=train-steps]', String(STEPS));
      await startAndWait(page, 240_000);
      expect(await page.textContent(STATUS)).toContain('done');
      ({ browserLosses, browserStates } = await page.evaluate(() => ({
        browserLosses: window.mnistTrain.losses,
        browserStates: window.mnistTrain.trace.map((s) =>
          Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Array.from(v)])),
        ),
      })));
      expect(errors).toEqual([]);
      await page.close();
    }, 300_000);

    test('the browser starts from the same initial state, bit for bit', () => {
      const initial = seedCnn({ dropout: config.dropout }).initialState(config.seed);
      expect(browserStates).toHaveLength(STEPS);
      for (const e of layout) {
        const expected =
          e.role === 'optimizer' ? new Float32Array(browserStates[0][e.name].length) : entry(initial, e.name).data;
        expect(Float32Array.from(browserStates[0][e.name]), e.name).toEqual(expected);
      }
    });

    test(`each of the first ${STEPS} steps, from the state the browser had, gives the browser's loss within 1e-4 relative`, async () => {
      const node: number[] = [];
      for (let step = 0; step < STEPS; step++) node.push(...(await nodeSteps(1, browserResume(step))));
      const worst = Math.max(...node.map((l, i) => relative(browserLosses[i], l)));
      console.log(
        `train page vs onnxruntime-node, step by step from the same state: ` +
          `largest relative loss difference ${worst.toExponential(2)}`,
      );
      expect(browserLosses).toHaveLength(STEPS);
      for (let i = 0; i < STEPS; i++)
        expect(relative(browserLosses[i], node[i]), `step ${i + 1}: ${browserLosses[i]} vs ${node[i]}`).toBeLessThan(
          1e-4,
        );
    }, 240_000);

    test(`the free-running first ${STEPS} losses: equal within 1e-4 while rounding has not compounded (5 steps), close after`, async () => {
      const node = await nodeSteps(STEPS);
      const diffs = node.map((l, i) => relative(browserLosses[i], l));
      console.log(
        `train page vs onnxruntime-node, free-running: ` +
          `relative loss differences ${diffs.map((d) => d.toExponential(1)).join(' ')}`,
      );
      for (let i = 0; i < 5; i++) expect(diffs[i], `step ${i + 1}`).toBeLessThan(1e-4);
      expect(Math.max(...diffs)).toBeLessThan(2e-2);
    }, 120_000);
  });

  test('the dev server (`npm run demo`, here in the test mode) serves the training page and MNIST too: a short run ends', async () => {
    const dev = await devServer();
    try {
      const page = await site.browser.newPage();
      await page.goto(`${dev.url}train.html`);
      await page.fill('[data-testid=train-steps]', '2');
      await page.selectOption('[data-testid=train-batch]', '64');
      await startAndWait(page, 120_000);
      expect(await page.textContent(STATUS)).toMatch(/^done: 2 steps/);
      expect(await page.evaluate(() => window.mnistTrain.losses.length)).toBe(2);
      await page.close();
    } finally {
      await dev.server.close();
    }
  }, 180_000);

  test('no request left 127.0.0.1', () => {
    expect(outside).toEqual([]);
  });
});
