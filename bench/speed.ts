/**
 * `npm run bench`: training speed of this pipeline and of PyTorch on the same network, the
 * same machine and the same thread counts, measured side by side in one run. Prints JSON.
 *   ours:    median ms of a training step at batch 128 (1 and 2 threads), as the trainer runs
 *            it (batch from the worker, ORT step); one full epoch's seconds with augmentation
 *            and dropout; test-set (10k) evaluation seconds
 *   pytorch: the same figures from bench/pytorch_reference.py (Debian's python3-torch)
 * Options: --steps N (default 40), --no-epoch, --no-pytorch, --python PATH
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundledMnistDir, loadDataset } from '../src/data/mnist.js';
import { seedCnn } from '../src/model/seed-cnn.js';
import type { TrainConfig } from '../src/train/core/config.js';
import { Trainer } from '../src/train/trainer.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '40' },
    'no-epoch': { type: 'boolean', default: false },
    'no-pytorch': { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const steps = Number(args.steps);
const data = loadDataset();

const recipe: TrainConfig = {
  epochs: 1,
  batchSize: 128,
  lr: 0.05,
  optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0, nesterov: false },
  schedule: { kind: 'constant' },
  seed: 1,
  dropout: 0.1,
  augment: { rotate: 7, shift: 2 },
  shuffle: true,
  device: 'cpu',
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

async function withTrainer<T>(config: TrainConfig, body: (t: Trainer) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const trainer = await Trainer.create(seedCnn(), config, data, dir);
  try {
    return await body(trainer);
  } finally {
    await trainer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wall-clock ms between consecutive steps, after 5 warm-up steps. */
async function stepTimes(threads: number): Promise<{ step_ms_median: number; step_ms_min: number }> {
  const times: number[] = [];
  await withTrainer({ ...recipe, threads, maxSteps: steps + 5, testLimit: 100 }, async (t) => {
    let last = 0;
    await t.run({
      onBatch: ({ step }) => {
        const now = performance.now();
        if (step > 5) times.push(now - last);
        last = now;
      },
    });
  });
  return { step_ms_median: round(median(times)), step_ms_min: round(Math.min(...times)) };
}

async function epoch(threads: number): Promise<{ epoch_seconds: number; eval_seconds: number }> {
  return withTrainer({ ...recipe, threads }, async (t) => {
    const [m] = await t.run();
    return { epoch_seconds: round(m.train_seconds), eval_seconds: round(m.test_seconds, 3) };
  });
}

function pytorch(threads: number, withEpoch: boolean): Record<string, unknown> {
  const r = spawnSync(
    args.python!,
    ['bench/pytorch_reference.py', 'speed', '--data-dir', bundledMnistDir(), '--threads', String(threads), '--steps', String(steps), ...(withEpoch ? [] : ['--no-epoch'])],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return { unavailable: (r.stderr || String(r.error)).trim().split('\n').at(-1) };
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

const result: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  batch: 128,
};
const ours: Record<string, unknown> = {};
for (const threads of [1, 2]) ours[`threads_${threads}`] = await stepTimes(threads);
if (!args['no-epoch']) Object.assign(ours.threads_2 as object, await epoch(2));
result.ours = ours;

if (!args['no-pytorch']) {
  const torch: Record<string, unknown> = {};
  for (const threads of [1, 2]) torch[`threads_${threads}`] = pytorch(threads, threads === 2 && !args['no-epoch']);
  result.pytorch = torch;
  const ratio: Record<string, number> = {};
  for (const threads of [1, 2]) {
    const a = ours[`threads_${threads}`] as Record<string, number>;
    const b = torch[`threads_${threads}`] as Record<string, number>;
    for (const key of ['step_ms_median', 'epoch_seconds', 'eval_seconds']) {
      if (typeof a[key] === 'number' && typeof b[key] === 'number') ratio[`${key}_threads_${threads}`] = round(a[key] / b[key], 3);
    }
  }
  result.ours_over_pytorch = ratio;
}
console.log(JSON.stringify(result, null, 2));
