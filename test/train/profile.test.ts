import { expect, test } from 'vitest';
import { summarizeTrace } from '../../src/train/profile.js';

test('the summary counts only kernels inside the steps after the warm-up, by op type', () => {
  const run = (ts: number, dur: number) => ({ cat: 'Session', name: 'model_run', ts, dur });
  const node = (op: string, ts: number, dur: number) => ({
    cat: 'Node',
    name: `${op}_kernel_time`,
    ts,
    dur,
    args: { op_name: op },
  });
  const summary = summarizeTrace(
    [
      run(0, 1000),
      node('Conv', 10, 900),
      run(2000, 1000),
      node('Conv', 2010, 600),
      node('Mul', 2700, 200),
      run(4000, 2000),
      node('Conv', 4010, 1500),
    ],
    1,
  );
  expect(summary.steps).toBe(2);
  expect(summary.ops.map((o) => o.op)).toEqual(['Conv', 'Mul']);
  expect(summary.ops[0].ms).toBeCloseTo(1.05); // (0.6 + 1.5) / 2 steps
  expect(summary.ops[0].share).toBeCloseTo(2.1 / 3); // of 3 ms of step time
  expect(summary.ops[1].nodes).toBe(0.5);
  expect(summary.otherMs).toBeCloseTo(0.35);
});

test("convs on ORT's NCHWc kernels are counted apart from the plain ones", () => {
  const kernel = (name: string, op: string, dur: number) => ({
    cat: 'Node',
    name: `${name}_kernel_time`,
    ts: 10,
    dur,
    args: { op_name: op },
  });
  const summary = summarizeTrace(
    [
      { cat: 'Session', name: 'model_run', ts: 0, dur: 1000 },
      kernel('Conv_9.nchwc.conv', 'Conv', 300),
      kernel('Conv_9.nchwc.reorder_output', 'ReorderOutput', 100),
      kernel('Conv_3', 'Conv', 200),
    ],
    0,
  );
  expect(summary.ops.map((o) => [o.op, o.ms])).toEqual([
    ['Conv (NCHWc)', 0.3],
    ['Conv', 0.2],
    ['ReorderOutput', 0.1],
  ]);
});
