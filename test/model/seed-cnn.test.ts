import { describe, expect, test } from 'vitest';
import { evalGraph, trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { formatSummary, summarize } from '../../src/model/summary.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';
import { entry, last } from '../helpers/must.js';

const net = seedCnn();
const kinds = net.modules.map((m) => m.module.kind);
const evalOps = evalGraph(net).nodes.map((n) => n.op.type);

describe("the course's own checks", () => {
  test('total parameters < 20,000, and exactly the seed 17,430', () => {
    expect(net.parameterCount).toBeLessThan(20_000);
    expect(net.parameterCount).toBe(17_430);
  });
  test('uses BatchNorm', () => {
    expect(kinds.filter((k) => k === 'BatchNorm2d')).toHaveLength(6);
    expect(evalOps.filter((t) => t === 'BatchNormalization')).toHaveLength(6);
  });
  test('uses Dropout (0.1 after every 3x3 conv), applied in the training graph', () => {
    expect([...net.dropoutRates.values()]).toEqual(new Array(6).fill(0.1));
    expect(trainStepGraph(net, 4, DEFAULT_SGD).masks).toHaveLength(6);
  });
  test('uses global average pooling', () => {
    expect(evalOps).toContain('GlobalAveragePool');
  });
  test('has no fully connected layer', () => {
    expect(kinds).not.toContain('Linear');
    expect(evalOps.filter((t) => ['Gemm', 'MatMul'].includes(t))).toEqual([]);
  });
});

describe('structure', () => {
  test('state_dict names follow PyTorch: conv1..conv6, bn1..bn6, trans1, trans2', () => {
    const names = net.stateSpecs.map((s) => s.name);
    expect(names).toContain('conv1.weight');
    expect(names).toContain('bn3.running_var');
    expect(names).toContain('trans2.bias');
    expect(names.filter((n) => n.endsWith('.weight'))).toHaveLength(14);
  });
  test('summary: block subtotals 4,092 / 6,876 / 6,462 and the total', () => {
    const s = summarize(net);
    expect(s.blocks.slice(0, 3).map((b) => b.params)).toEqual([4092, 6876, 6462]);
    const text = formatSummary(s);
    expect(text).toContain('Total params: 17,430');
    expect(text).toContain('Block 1: 4,092');
    expect(last(s.rows).outputShape).toEqual(['N', 10]);
    expect(s.macsPerImage).toBe(4_371_456);
  });
  test("initialisation follows PyTorch's defaults, reproducibly from the seed", () => {
    const a = net.initialState(7);
    const b = net.initialState(7);
    const c = net.initialState(8);
    expect(entry(a, 'conv2.weight').data).toEqual(entry(b, 'conv2.weight').data);
    expect(entry(a, 'conv2.weight').data).not.toEqual(entry(c, 'conv2.weight').data);
    const bound = 1 / Math.sqrt(12 * 9); // fan_in of conv2
    const w = entry(a, 'conv2.weight').data;
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.95 * bound);
    expect(Array.from(entry(a, 'bn1.weight').data)).toEqual(new Array(12).fill(1));
    expect(Array.from(entry(a, 'bn1.running_var').data)).toEqual(new Array(12).fill(1));
    expect(Array.from(entry(a, 'bn1.running_mean').data)).toEqual(new Array(12).fill(0));
  });
});
