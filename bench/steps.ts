/**
 * `npm run bench:steps`: what a training step costs, as the trainer runs it (batch from the
 * worker, ORT step, the default recipe otherwise), per batch size and with or without ORT's
 * threads spin-waiting between ops, so that a recipe can weigh more updates per epoch against
 * their price. Each round times every variant over the same number of images, in an order
 * that alternates between rounds; each round is printed on stderr, the JSON has every round
 * and the medians.
 * Options: --sizes 32,64,128,256  --spin on|off|both (default on, as the trainer runs)
 *          --images N (per variant and round, default 5120)  --rounds N (default 3)  --threads N (default 2)
 *          --models builtin,FILE,...  models to time side by side (default: the built-in seed CNN;
 *          a FILE is a model file as --model takes it, e.g. PyTorch's export of the same network)
 *          --train-only PATTERNS  also time each model with only these parameters trained (as
 *          `train --train-only`: the rest frozen), beside its full step
 *          --pytorch  also time PyTorch's step of each model, in the same alternating rounds:
 *          the seed CNN and the examples/ networks (their PyTorch twins) and torchvision's
 *          (a FILE named `<net>.onnx`, as bench/pytorch_nets.py's `export` writes them);
 *          Debian's python3-torch, --python PATH
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelFile } from '../src/cli/training-model.js';
import { loadDataset } from '../src/data/mnist.node.js';
import { seedCnn } from '../src/model/seed-cnn.js';
import { benchRecipe, median, round, stepTimes } from './trainer-steps.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '32,64,128,256' },
    spin: { type: 'string', default: 'on' },
    images: { type: 'string', default: '5120' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    models: { type: 'string', default: 'builtin' },
    'train-only': { type: 'string' },
    pytorch: { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const trainOnly = args['train-only']?.split(',');
const sizes = args.sizes.split(',').map(Number);
const spins = ({ on: [true], off: [false], both: [true, false] } as Record<string, boolean[]>)[args.spin];
const [images, rounds, threads] = [args.images, args.rounds, args.threads].map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !spins || !(images >= 1) || !(rounds >= 1) || !(threads >= 1)) {
  console.error(
    'bench:steps: --sizes takes positive integers, --spin on|off|both, --images, --rounds and --threads positive numbers',
  );
  process.exit(2);
}
const data = loadDataset();
const modelFiles = args.models.split(',');
const models = await Promise.all(
  modelFiles.map(async (m) => ({
    tag: m === 'builtin' ? '' : `_${basename(m)}`,
    net: m === 'builtin' ? seedCnn() : (await loadModelFile(m)).net,
  })),
);

const selections: { suffix: string; trainOnly?: string[] }[] = [
  { suffix: '' },
  ...(trainOnly ? [{ suffix: '_train_only', trainOnly }] : []),
];
const oursVariants = models.flatMap(({ tag, net }) =>
  sizes.flatMap((batchSize) =>
    spins.flatMap((spin) =>
      selections.map(({ suffix, trainOnly }) => ({
        batchSize,
        key: `batch_${batchSize}${spin ? '' : '_no_spin'}${tag}${suffix}`,
        time: async () => {
          process.env.ONNX_MNIST_SPIN_WAIT = spin ? '1' : '0'; // read when the trainer makes its step sessions
          const steps = Math.max(10, Math.round(images / batchSize));
          return (
            await stepTimes({ ...benchRecipe, batchSize, threads, ...(trainOnly && { trainOnly }) }, data, steps, net)
          ).step_ms_median;
        },
      })),
    ),
  ),
);

/** PyTorch's step of a net bench/pytorch_nets.py knows (its `speed`), as many steps as ours times. */
function pytorchStepMs(net: string, batchSize: number): number {
  const steps = String(Math.max(10, Math.round(images / batchSize)));
  const cli = [
    'bench/pytorch_nets.py',
    'speed',
    '--models',
    net,
    '--threads',
    String(threads),
    '--batch',
    String(batchSize),
    '--steps',
    steps,
  ];
  const r = spawnSync(args.python, cli, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`bench:steps: PyTorch's ${net} failed: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}`);
  return (
    JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { steps: Record<string, { step_ms_median: number }> }
  ).steps[net].step_ms_median;
}
/**
 * The name bench/pytorch_nets.py knows a model by: `builtin` is the seed CNN, an examples/ file
 * or an export is named by its file (`examples/lenet5.ts` -> lenet5, `DIR/resnet18.onnx` -> resnet18).
 */
const pytorchName = (model: string) =>
  model === 'builtin' ? 'seed-cnn' : basename(model).replace(/\.(ts|js|onnx)$/, '');
const pytorchVariants = args.pytorch
  ? modelFiles.flatMap((model) =>
      sizes.map((batchSize) => ({
        batchSize,
        key: `batch_${batchSize}${model === 'builtin' ? '' : `_${basename(model)}`}_pytorch`,
        time: async () => pytorchStepMs(pytorchName(model), batchSize),
      })),
    )
  : [];
const variants = [...oursVariants, ...pytorchVariants];
const stepMs: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.key, []]));
for (let r = 1; r <= rounds; r++) {
  for (const { key, time } of r % 2 ? variants : [...variants].reverse()) stepMs[key].push(await time());
  console.error(`round ${r}: ${variants.map((v) => `${v.key} ${stepMs[v.key].at(-1)} ms`).join(', ')}`);
}

const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  threads,
  rounds,
  ...(trainOnly && { train_only: trainOnly }),
  steps: Object.fromEntries(
    variants.map(({ batchSize, key }) => {
      const ms = median(stepMs[key]);
      return [
        key,
        {
          step_ms_median: round(ms),
          step_ms_rounds: stepMs[key],
          us_per_image: round((1000 * ms) / batchSize, 0),
          epoch_seconds_estimate: round((Math.ceil(data.train.count / batchSize) * ms) / 1000, 1),
        },
      ];
    }),
  ),
};
console.log(JSON.stringify(result, null, 2));
