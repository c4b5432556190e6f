/**
 * `npm run train`: trains the seed CNN on MNIST with the ONNX training-step graph.
 * Defaults are the recipe README reports (SGD momentum 0.9, lr 0.05, StepLR(7, 0.1),
 * batch 128, +-7 degree rotation and +-2 px shift, 15 epochs).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { AugmentOptions } from '../data/augment.js';
import { loadDataset } from '../data/mnist.js';
import type { OptimizerOptions } from '../graph/optim.js';
import { seedCnn } from '../model/seed-cnn.js';
import { latestCheckpointDir, loadCheckpoint } from '../train/checkpoint.js';
import { consoleProgress } from '../train/progress.js';
import type { Schedule } from '../train/schedule.js';
import { type TrainCheckpoint, type TrainConfig, Trainer } from '../train/trainer.js';
import { UsageError, runCommand } from './errors.js';
import { nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, probability } from './parse.js';

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

interface Options {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: 'step' | 'onecycle' | 'constant';
  stepSize: number;
  gamma: number;
  seed: number;
  threads?: number;
  device: 'cpu' | 'cuda';
  dropout: number;
  augment: 'none' | 'rotate' | 'shift' | 'rotate+shift';
  rotateDegrees: number;
  shiftPixels: number;
  shuffle: boolean;
  trainLimit?: number;
  testLimit?: number;
  maxSteps?: number;
  out?: string;
  resume: boolean;
  dataDir?: string;
}

function toConfig(o: Options): TrainConfig {
  const optimizer: OptimizerOptions =
    o.optimizer === 'sgd'
      ? { kind: 'sgd', momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov }
      : { kind: o.optimizer, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay };
  if (o.nesterov && (o.optimizer !== 'sgd' || o.momentum === 0)) throw new UsageError('--nesterov needs --optimizer sgd and a non-zero --momentum');
  const schedule: Schedule =
    o.schedule === 'step'
      ? { kind: 'step', stepSize: o.stepSize, gamma: o.gamma }
      : o.schedule === 'onecycle'
        ? { kind: 'onecycle', pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 }
        : { kind: 'constant' };
  const augment: AugmentOptions | null =
    o.augment === 'none'
      ? null
      : { rotate: o.augment.includes('rotate') ? o.rotateDegrees : 0, shift: o.augment.includes('shift') ? o.shiftPixels : 0 };
  return {
    epochs: o.epochs,
    batchSize: o.batchSize,
    lr: o.lr,
    optimizer,
    schedule,
    seed: o.seed,
    dropout: o.dropout,
    augment,
    shuffle: o.shuffle,
    trainLimit: o.trainLimit,
    testLimit: o.testLimit,
    maxSteps: o.maxSteps,
    threads: o.threads,
    device: o.device,
  };
}

const program = new Command('train')
  .description('Train the seed CNN on MNIST with an ONNX training-step graph run by onnxruntime-node')
  .option('--epochs <n>', 'epochs to train', positiveInt, 15)
  .option('--batch-size <n>', 'examples per step', positiveInt, 128)
  .option('--lr <x>', 'learning rate (the peak rate for onecycle)', positiveNumber, 0.05)
  .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw']).default('sgd'))
  .option('--momentum <x>', 'SGD momentum', nonNegativeNumber, 0.9)
  .option('--nesterov', 'Nesterov momentum', false)
  .option('--weight-decay <x>', 'L2 penalty (decoupled for adamw)', nonNegativeNumber, 0)
  .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(['step', 'onecycle', 'constant']).default('step'))
  .option('--step-size <epochs>', 'StepLR: epochs between decays', positiveInt, 7)
  .option('--gamma <x>', 'StepLR: decay factor', positiveNumber, 0.1)
  .option('--seed <n>', 'seed for initialisation, shuffling, augmentation and dropout', nonNegativeInt, 1)
  .option('--threads <n>', "ORT intra-op threads (default: ORT's choice, one per core)", positiveInt)
  .addOption(new Option('--device <name>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
  .option('--dropout <p>', 'dropout probability after every 3x3 conv', probability, 0.1)
  .addOption(
    new Option('--augment <kind>', 'training augmentation').choices(['none', 'rotate', 'shift', 'rotate+shift']).default('rotate+shift'),
  )
  .option('--rotate-degrees <x>', 'maximum rotation', nonNegativeNumber, 7)
  .option('--shift-pixels <n>', 'maximum shift', nonNegativeInt, 2)
  .option('--no-shuffle', 'keep the training set in file order')
  .option('--train-limit <n>', 'train on the first N training images', positiveInt)
  .option('--test-limit <n>', 'evaluate on the first N test images', positiveInt)
  .option('--max-steps <n>', 'stop after N optimizer steps in total', positiveInt)
  .option('--out <dir>', 'run folder (default runs/<date-time>)')
  .option('--resume', 'continue from the newest checkpoint in --out', false)
  .option('--data-dir <dir>', 'folder with the four MNIST-style IDX files (default: the bundled MNIST)');

runCommand(async () => {
  const o = program.parse().opts<Options>();
  if (o.resume && !o.out) throw new UsageError('--resume needs --out <dir>, the run folder to continue');
  const out = o.out ?? join('runs', timestamp());

  let resume: TrainCheckpoint | undefined;
  const latest = latestCheckpointDir(out);
  if (o.resume) {
    if (!latest) throw new UsageError(`${out}: no checkpoint to resume from`);
    resume = loadCheckpoint(latest, seedCnn()); // dropout does not change the state's shapes
    console.log(`resuming from ${latest}`);
  } else if (latest || existsSync(join(out, 'metrics.jsonl'))) {
    throw new UsageError(`${out} already holds a run; pass --resume to continue it or choose another --out`);
  }
  // A resumed run keeps its recipe; only the length and the machine settings may change.
  const config: TrainConfig = resume
    ? { ...resume.trainer.config, epochs: o.epochs, maxSteps: o.maxSteps, threads: o.threads, device: o.device }
    : toConfig(o);
  const net = seedCnn({ dropout: config.dropout });

  const data = loadDataset(o.dataDir);
  const trainer = await Trainer.create(net, config, data, out, resume);
  console.log(`run folder: ${out}  (${trainer.stepsPerEpoch} steps per epoch)`);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    const last = trainer.lastCheckpoint ?? 'none yet';
    console.error(`\ninterrupted: the last complete checkpoint is ${last}; continue with --out ${out} --resume`);
    process.exit(130);
  });
  try {
    await trainer.run(consoleProgress(config.epochs));
  } finally {
    if (!interrupted) await trainer.close();
  }
  const best = Math.max(...trainer.history.map((m) => m.test_acc));
  console.log(`best test accuracy ${(100 * best).toFixed(2)}%; metrics in ${join(out, 'metrics.jsonl')}`);
});
