/**
 * The training page's refusals in its own words (issue 31): a run too large for the tab is
 * refused with the figures and what the page can change (not the API's allowLargeModel); a run
 * that diverges gets no CLI advice ("Try a lower --lr.") nor the note of checkpoints the page
 * does not keep; a model broken from the start gets no learning-rate advice at all.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Graph } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { onnx, parseModel, serializeModel } from '../../src/graph/serialize.js';
import { browserAvailable, type DemoSite, guardPage, noBrowser, serveDemo } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';
import { graphOf } from '../helpers/models.js';
import { must } from '../helpers/must.js';

const STATUS = '[data-testid=train-status]';

/**
 * A linear classifier of zero weights whose logits are multiplied by `factor`: 1e30 gives a finite
 * first loss (ln 10) and an update that overflows, Infinity a loss that is never finite.
 */
function scaledLinear(name: string, factor: number): string {
  const g = new Graph(name);
  const x = op.flatten(g.input('input', 'float32', ['N', 1, 28, 28]));
  const logits = op.matmul(x, g.constant('float32', [784, 10], new Array(7840).fill(0)));
  g.output(Number.isFinite(factor) ? op.mul(logits, factor) : op.div(logits, 0), 'output');
  const file = join(mkdtempSync(join(tmpdir(), 'train-diverged-')), `${name}.onnx`);
  writeFileSync(file, serializeModel(g, { opset: 13 }));
  return file;
}

/** 1,024 3x3 filters at 28x28: 20,480 weights, and activations of 2.3 GB at the page's batch of 128. */
function wideConv(): string {
  const g = new Graph('wide');
  const x = g.input('input', 'float32', ['N', 1, 28, 28]);
  const w = g.constant('float32', [1024, 1, 3, 3], new Array(9216).fill(0.01));
  const c = op.relu(op.conv(x, w, g.constant('float32', [1024], new Array(1024).fill(0)), { pads: [1, 1, 1, 1] }));
  g.output(
    op.matmul(op.flatten(op.globalAveragePool(c)), g.constant('float32', [1024, 10], new Array(10240).fill(0))),
    'output',
  );
  const file = join(mkdtempSync(join(tmpdir(), 'train-wide-')), 'wide.onnx');
  writeFileSync(file, serializeModel(g, { opset: 13 }));
  return file;
}

/** The PyTorch LeNet-5 fixture with a Conv bias of 5 values for its 6 channels. */
function shortBias(): string {
  const m = parseModel(readFileSync(join(ROOT, 'test/fixtures/onnx/lenet5.onnx')));
  const bias = must(
    graphOf(m).initializer.find((t) => t.name === '0.bias'),
    '0.bias',
  );
  bias.dims = [5];
  bias.rawData = new Uint8Array(5 * 4);
  const file = join(mkdtempSync(join(tmpdir(), 'train-bias-')), 'short-bias.onnx');
  writeFileSync(file, onnx.ModelProto.encode(m).finish());
  return file;
}

browserAvailable('diverged runs in the training page');

describe.skipIf(noBrowser)('a run that diverges in the training page (skipped without /usr/bin/chromium)', () => {
  let site: DemoSite;
  let page: Page;
  const errors: string[] = [];
  const outside: string[] = [];

  beforeAll(async () => {
    site = await serveDemo();
    page = await site.browser.newPage({ viewport: { width: 1000, height: 900 } });
    await guardPage(page, errors, outside);
    await page.goto(`${site.url}train.html`);
  });

  afterAll(async () => {
    await site?.close();
  });

  /** Trains the .onnx `file` in the page for a few steps; the status it ends with. */
  async function trained(file: string): Promise<string> {
    await page.setInputFiles('[data-testid=train-model-file]', file);
    const value = `file:${file.split('/').at(-1)}`;
    await page.waitForFunction(
      (v) => (document.querySelector('[data-testid=train-model]') as HTMLSelectElement).value === v,
      value,
    );
    await page.fill('[data-testid=train-steps]', '5');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction((s) => /^(done|error)/.test(document.querySelector(s)?.textContent ?? ''), STATUS, {
      timeout: 300_000,
      polling: 250,
    });
    return (await page.textContent(STATUS)) ?? '';
  }

  test('a model whose run would outgrow the tab is refused with the figures and the page’s choices', async () => {
    const status = await trained(wideConv());
    expect(status).toBe(
      "error: the run needs about 2.30 GB (the model 0.00 GB; with the optimizer's state and the step's two copies " +
        "0.00 GB; activations at this batch size 2.30 GB), more than the page's budget (2.00 GB): " +
        'choose a batch of 64, or a smaller model',
    );
  }, 400_000);

  test('an .onnx whose initializer does not fit its layer: one line naming the file (a CLI stack trace)', async () => {
    expect(await trained(shortBias())).toBe(
      "error: short-bias.onnx: '0.bias' holds 5 values where its layer wants [6]: not a valid model",
    );
  }, 400_000);

  test('a loss that overflows after the first update: the page’s advice, no --lr, no checkpoint', async () => {
    const status = await trained(scaledLinear('overflows', 1e30));
    expect(status).toMatch(
      new RegExp(
        '^error: loss became (NaN|Infinity|-Infinity) at epoch 1, batch 1, step 1 \\(lr 0\\.05\\): the run diverged ' +
          "at the page's learning rate \\(0\\.05, which it does not change\\); " +
          'try the OneCycle schedule, which starts 25 times lower and warms up$',
      ),
    );
  }, 400_000);

  test('a loss never finite (a forward dividing by zero): the model is blamed, no learning-rate advice', async () => {
    const status = await trained(scaledLinear('divides', Number.POSITIVE_INFINITY));
    expect(status).toMatch(
      new RegExp(
        '^error: loss became (NaN|Infinity|-Infinity) at epoch 1, batch 0, step 0 \\(lr 0\\.05\\): ' +
          'the model gives non-finite outputs from its initial weights, before any update$',
      ),
    );
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
  }, 400_000);
});
