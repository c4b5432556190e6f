/**
 * `npm run bench`: training speed of this pipeline and of PyTorch on the same network, the
 * same machine and the same thread counts, measured side by side in one run. Prints JSON.
 *   ours:    median ms of a training step at batch 128 (1 and 2 threads), as the trainer runs
 *            it (batch from the worker, ORT step); one full epoch's seconds with augmentation
 *            and dropout; test-set (10k) evaluation seconds
 *   pytorch: the same figures from bench/pytorch_reference.py (Debian's python3-torch); its
 *            epoch twice: augmenting per image with torchvision (as the seed did) and per
 *            batch (affine_grid + grid_sample, the efficient peer)
 * Step times are measured in --rounds rounds (default 3) that alternate which side goes
 * first; each round is printed on stderr, and the JSON has every round and their median.
 * Options: --steps N (default 40), --rounds N, --no-epoch, --no-pytorch, --python PATH
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { bundledMnistDir, loadDataset } from '../src/data/mnist.node.js';
import { benchRecipe as recipe, median, round, stepTimes, withTrainer } from './trainer-steps.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    'no-epoch': { type: 'boolean', default: false },
    'no-pytorch': { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const steps = Number(args.steps);
const data = loadDataset();

async function epoch(threads: number): Promise<{ epoch_seconds: number; eval_seconds: number }> {
  return withTrainer({ ...recipe, threads }, data, async (t) => {
    const [m] = await t.run();
    return { epoch_seconds: round(m.train_seconds), eval_seconds: round(m.test_seconds ?? Number.NaN, 3) };
  });
}

/** One call of bench/pytorch_reference.py speed; `epoch` also times one epoch with that augmentation. */
function pytorch(
  threads: number,
  epoch: 'none' | 'per-image' | 'batch' = 'none',
): Record<string, number> | { unavailable: string } {
  const r = spawnSync(
    args.python,
    [
      'bench/pytorch_reference.py',
      'speed',
      '--data-dir',
      bundledMnistDir(),
      '--threads',
      String(threads),
      '--steps',
      String(steps),
      '--epoch',
      epoch,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return { unavailable: (r.stderr || String(r.error)).trim().split('\n').at(-1) ?? 'failed' };
  const out = r.stdout.trim();
  return JSON.parse(out.slice(out.lastIndexOf('\n') + 1)) as Record<string, number>; // its last line
}

const withPytorch = !args['no-pytorch'];
const rounds = Number(args.rounds);
type Side = 'ours' | 'pytorch';
/** Step medians per round, alternating which side goes first, so that drift in the machine hits both. */
const stepRuns: Record<Side, Record<number, number[]>> = { ours: { 1: [], 2: [] }, pytorch: { 1: [], 2: [] } };
let pytorchUnavailable: string | undefined;
for (let round = 1; round <= rounds; round++) {
  const order: Side[] = round % 2 === 1 ? ['ours', 'pytorch'] : ['pytorch', 'ours'];
  for (const threads of [1, 2]) {
    for (const side of order) {
      if (side === 'pytorch' && (!withPytorch || pytorchUnavailable)) continue;
      if (side === 'ours')
        stepRuns.ours[threads].push((await stepTimes({ ...recipe, threads }, data, steps)).step_ms_median);
      else {
        const r = pytorch(threads);
        if ('unavailable' in r) pytorchUnavailable = String(r.unavailable);
        else stepRuns.pytorch[threads].push(r.step_ms_median);
      }
    }
    const mine = stepRuns.ours[threads].at(-1);
    const theirs = stepRuns.pytorch[threads].at(-1);
    console.error(`round ${round}, ${threads} thread(s): ours ${mine} ms, pytorch ${theirs ?? '-'} ms`);
  }
}

const result: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  batch: 128,
  rounds,
};
const summary = (side: Side, threads: number) => ({
  step_ms_median: round(median(stepRuns[side][threads])),
  step_ms_rounds: stepRuns[side][threads],
});
const ours: Record<string, Record<string, unknown>> = { threads_1: summary('ours', 1), threads_2: summary('ours', 2) };
if (!args['no-epoch']) Object.assign(ours.threads_2, await epoch(2));
result.ours = ours;

if (withPytorch) {
  if (pytorchUnavailable) result.pytorch = { unavailable: pytorchUnavailable };
  else {
    const torch: Record<string, Record<string, unknown>> = {
      threads_1: summary('pytorch', 1),
      threads_2: summary('pytorch', 2),
    };
    if (!args['no-epoch']) {
      const perImage = pytorch(2, 'per-image');
      const batch = pytorch(2, 'batch');
      torch.threads_2.epoch_seconds_per_image = 'unavailable' in perImage ? null : perImage.epoch_seconds;
      torch.threads_2.epoch_seconds_batchwise = 'unavailable' in batch ? null : batch.epoch_seconds;
      torch.threads_2.eval_seconds = 'unavailable' in batch ? null : batch.eval_seconds;
    }
    result.pytorch = torch;
    const ratio: Record<string, number> = {};
    const put = (key: string, a: unknown, b: unknown) => {
      if (typeof a === 'number' && typeof b === 'number') ratio[key] = round(a / b, 3);
    };
    for (const threads of [1, 2])
      put(
        `step_ms_median_threads_${threads}`,
        ours[`threads_${threads}`].step_ms_median,
        torch[`threads_${threads}`].step_ms_median,
      );
    put('epoch_seconds_threads_2_vs_per_image', ours.threads_2.epoch_seconds, torch.threads_2.epoch_seconds_per_image);
    put('epoch_seconds_threads_2_vs_batchwise', ours.threads_2.epoch_seconds, torch.threads_2.epoch_seconds_batchwise);
    put('eval_seconds_threads_2', ours.threads_2.eval_seconds, torch.threads_2.eval_seconds);
    result.ours_over_pytorch = ratio;
  }
}
console.log(JSON.stringify(result, null, 2));
