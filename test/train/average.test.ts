import { describe, expect, test } from 'vitest';
import { numel } from '../../src/graph/shape.js';
import { AVERAGE_DECAY, averageName, IMAGE, LR, next, TARGET, trainStepGraph } from '../../src/model/graphs.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { averageDecay } from '../../src/train/core/schedule.js';
import { Rng } from '../../src/util/rng.js';
import { run, session } from '../helpers/ort.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';
import { entry } from '../helpers/must.js';

describe('the moving average in the training-step graph', () => {
  test('avg.next = avg + (1 - d) (value.next - avg) for every parameter and BatchNorm statistic', async () => {
    const net = seedCnn();
    const batch = 4;
    const step = trainStepGraph(net, batch, DEFAULT_SGD, { average: true });
    const rng = new Rng(3);
    const random = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.range(-1, 1));
    const feeds: Record<string, Float32Array | BigInt64Array> = {
      [IMAGE]: random(batch * 28 * 28),
      [TARGET]: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 10)),
      [LR]: Float32Array.of(0.05),
      [AVERAGE_DECAY]: Float32Array.of(0.75),
    };
    for (const m of step.masks) feeds[m.name] = new Float32Array(numel(m.shape)).fill(1 / (1 - m.p));
    const initial = net.initialState(1);
    for (const e of step.carried) {
      if (e.role === 'average')
        feeds[e.name] = random(numel(e.shape)); // an average away from the weights
      else if (e.role === 'optimizer') feeds[e.name] = random(numel(e.shape), 0.01);
      else feeds[e.name] = entry(initial, e.name).data;
    }
    const out = await run(await session(step.graph), step.graph, feeds);

    const averages = step.carried.filter((e) => e.role === 'average');
    expect(averages.map((e) => e.role === 'average' && e.of).sort()).toEqual(net.stateSpecs.map((s) => s.name).sort());
    for (const e of averages) {
      if (e.role !== 'average') continue;
      expect(e.name).toBe(averageName(e.of));
      const value = out[next(e.of)].data as Float32Array;
      const before = feeds[e.name] as Float32Array;
      const got = out[next(e.name)].data as Float32Array;
      for (let i = 0; i < got.length; i++)
        expect(got[i], `${e.name}[${i}]`).toBeCloseTo(before[i] + 0.25 * (value[i] - before[i]), 6);
    }
  });

  test('without it the graph has no average inputs', () => {
    const step = trainStepGraph(seedCnn(), 4, DEFAULT_SGD);
    expect(step.carried.some((e) => e.role === 'average')).toBe(false);
    expect(step.graph.inputs.some((i) => i.name === AVERAGE_DECAY)).toBe(false);
  });

  test('the decay warms up as min(decay, (1 + t) / (10 + t))', () => {
    expect(averageDecay(0.99, 1)).toBeCloseTo(2 / 11, 12);
    expect(averageDecay(0.99, 90)).toBeCloseTo(0.91, 12);
    expect(averageDecay(0.99, 10_000)).toBe(0.99);
  });
});
