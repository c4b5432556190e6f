/** `--profile`: ORT's trace of a few training steps, summarised by op type. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { summarizeTrace } from '../../src/train/profile.js';
import { runCli } from '../helpers/cli.js';

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

test('npm run train -- --profile writes a trace into the run folder and prints the table', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'profile-')), 'run');
  const r = runCli('train', [
    '--profile',
    '3',
    '--max-steps',
    '12',
    '--train-limit',
    '512',
    '--test-limit',
    '100',
    '--batch-size',
    '64',
    '--threads',
    '1',
    '--out',
    out,
  ]);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(
    new RegExp(
      `profile of 3 training steps after 5 warm-up steps, median step \\d+\\.\\d ms \\(trace: ${out}/profile\\.json`,
    ),
  );
  expect(r.stdout).toMatch(/^Conv +\d+\.\d\d +\d+\.\d%/m);
  const trace = JSON.parse(readFileSync(join(out, 'profile.json'), 'utf8')) as { cat?: string; name?: string }[];
  expect(trace.filter((e) => e.name === 'model_run')).toHaveLength(8); // profiling ended after the 8th step
  expect(existsSync(join(out, 'checkpoints'))).toBe(true);
});
