/**
 * `npm run bench:accuracy`: judges a training run's per-epoch test accuracy against the
 * targets. Without arguments it first runs the default training (`npm run train`'s recipe)
 * into runs/accuracy-<date-time>; with `--metrics FILE` it reads an existing metrics.jsonl.
 *   must: >= 99.40% test accuracy within 19 epochs (the seed's result)
 *   goal: >= 99.50% best and >= 99.40% in each of the last three epochs, within 15 epochs
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { EpochMetrics } from '../src/train/core/config.js';

const { values: args } = parseArgs({ options: { metrics: { type: 'string' } } });

let file = args.metrics;
if (!file) {
  const out = join('runs', `accuracy-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', '--out', out], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  file = join(out, 'metrics.jsonl');
}

const metrics: EpochMetrics[] = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const pct = (x: number) => Number((100 * x).toFixed(2));
const within = (n: number) => metrics.filter((m) => m.epoch <= n);
const best = (ms: EpochMetrics[]) => Math.max(...ms.map((m) => m.test_acc));
const first15 = within(15);
const lastThree = first15.slice(-3);

console.log(
  JSON.stringify(
    {
      metrics: file,
      epochs: metrics.length,
      test_accuracy_per_epoch: metrics.map((m) => pct(m.test_acc)),
      best: pct(best(metrics)),
      must_9940_within_19_epochs: best(within(19)) >= 0.994,
      goal_best_9950_within_15_epochs: best(first15) >= 0.995,
      goal_last_three_of_15_at_least_9940: first15.length === 15 && lastThree.every((m) => m.test_acc >= 0.994),
      seconds_per_epoch: Number((metrics.reduce((s, m) => s + m.train_seconds, 0) / metrics.length).toFixed(1)),
    },
    null,
    2,
  ),
);
