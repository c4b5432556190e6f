/**
 * Nothing freezes silently: a float initializer the exporter named (not a state_dict key) and
 * no Conv, Gemm or MatMul reads as a weight is kept as a constant, and the summary says which.
 * Here modern-13's position embedding `pos` (an nn.Parameter read by Add) under a made-up name.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { parseModel } from '../../src/graph/serialize.js';
import { importOnnx } from '../../src/model/onnx-import.js';
import { formatSummary, summarize } from '../../src/model/summary.js';
import { graphOf } from '../helpers/models.js';

const modern = () =>
  parseModel(readFileSync(fileURLToPath(new URL('../fixtures/onnx/modern-13.onnx', import.meta.url))));

test('an exporter-named float initializer is a constant, and the summary names it', () => {
  const asExported = summarize(importOnnx(modern(), 'modern-13').net);
  expect(asExported.notes).toEqual([]);

  const model = modern();
  const graph = graphOf(model);
  const renamed = 'onnx::Add_99';
  for (const init of graph.initializer) if (init.name === 'pos') init.name = renamed;
  for (const node of graph.node) node.input = (node.input ?? []).map((i) => (i === 'pos' ? renamed : i));
  const summary = summarize(importOnnx(model, 'modern-13').net);

  expect(asExported.trainableParams - summary.trainableParams).toBe(6272); // pos is [1, 8, 28, 28]
  expect(summary.notes).toEqual([
    'Constants (not trained): ' +
      '1 tensor, 6,272 values (onnx::Add_99): exporter-made names, read by no Conv, Gemm or MatMul as weights',
  ]);
  expect(formatSummary(summary)).toContain('Constants (not trained): 1 tensor, 6,272 values (onnx::Add_99)');
});
