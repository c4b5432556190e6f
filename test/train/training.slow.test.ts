/**
 * Training end to end on small slices of the real MNIST: the loss falls, accuracy rises far
 * above chance, runs are reproducible, a resumed run equals an uninterrupted one, and a
 * diverging run stops with the last good checkpoint intact.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Dataset, loadDataset } from '../../src/data/mnist.node.js';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { latestCheckpointDir, loadCheckpoint } from '../../src/train/checkpoint.js';
import type { EpochMetrics, TrainConfig } from '../../src/train/core/config.js';
import { DivergedError, type TrainCheckpoint, TrainingRun } from '../../src/train/training-run.js';
import { readSafetensors } from '../../src/util/safetensors.node.js';
import { messageOf } from '../../src/util/errors.js';
import { quickConfig } from '../helpers/train.js';
import { must } from '../helpers/must.js';

let data: Dataset;
beforeAll(() => {
  data = loadDataset();
});

const base: TrainConfig = {
  ...quickConfig(),
  seed: 7,
  schedule: { kind: 'step', stepSize: 1, gamma: 0.5 },
  trainLimit: undefined,
  testLimit: undefined,
};

const runDir = () => mkdtempSync(join(tmpdir(), 'train-'));

async function train(config: TrainConfig, dir = runDir(), resume?: TrainCheckpoint) {
  const net = seedCnn({ dropout: config.dropout });
  const trainer = await TrainingRun.create(net, config, data, dir, resume);
  const losses: number[] = [];
  try {
    await trainer.run({
      onStep: (b) => {
        losses.push(b.loss);
      },
    });
    const state = new Map([...trainer.modelState()].map(([k, v]) => [k, Float32Array.from(v.data)]));
    return { dir, losses, state, metrics: [...trainer.history] as EpochMetrics[] };
  } finally {
    await trainer.close();
  }
}

describe('training on real MNIST', () => {
  test('one epoch on 3,000 images: the loss falls and test accuracy is far above chance', async () => {
    const r = await train({ ...base, trainLimit: 3000, testLimit: 1000 });
    expect(r.losses).toHaveLength(Math.ceil(3000 / 64));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(r.losses.slice(-10))).toBeLessThan(0.5 * mean(r.losses.slice(0, 5)));
    const [m] = r.metrics;
    expect(m.test_count).toBe(1000);
    expect(m.test_acc).toBeGreaterThan(0.8);
    // the run folder: metrics, curves, graphs, checkpoint
    for (const f of ['metrics.jsonl', 'curves.png', 'train_step.onnx', 'eval.onnx'])
      expect(existsSync(join(r.dir, f)), f).toBe(true);
    const lines = readFileSync(join(r.dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]).test_acc).toBe(m.test_acc);
  });

  test('the same seed with one thread gives identical losses', async () => {
    const config = { ...base, trainLimit: 640, testLimit: 200 };
    const a = await train(config);
    const b = await train(config);
    expect(b.losses).toEqual(a.losses);
    const c = await train({ ...config, seed: 8 });
    expect(c.losses).not.toEqual(a.losses);
  });

  test('1 epoch + resume + 1 epoch equals 2 epochs straight (dropout and augmentation on)', async () => {
    const config = { ...base, trainLimit: 704, testLimit: 200, epochs: 2 }; // 11 batches, the last one smaller
    const straight = await train(config);

    const dir = runDir();
    await train({ ...config, maxSteps: 11 }, dir); // stops after epoch 1
    const checkpoint = must(latestCheckpointDir(dir), 'a checkpoint');
    expect(checkpoint).toMatch(/epoch-001$/);
    const net = seedCnn({ dropout: config.dropout });
    const resumed = await train(config, dir, loadCheckpoint(checkpoint, net));

    expect(resumed.losses).toEqual(straight.losses.slice(11));
    for (const [name, values] of straight.state) expect(resumed.state.get(name), name).toEqual(values);
    expect(resumed.metrics.map((m) => m.epoch)).toEqual([1, 2]);
    expect(resumed.metrics[1].test_acc).toBe(straight.metrics[1].test_acc);
  });

  test('a resume mid-epoch (after --max-steps) continues the same batches', async () => {
    const config = { ...base, trainLimit: 640, testLimit: 100, epochs: 1 };
    const straight = await train(config);
    const dir = runDir();
    await train({ ...config, maxSteps: 4 }, dir);
    const net = seedCnn({ dropout: config.dropout });
    const resumed = await train(config, dir, loadCheckpoint(must(latestCheckpointDir(dir), 'a checkpoint'), net));
    expect(resumed.losses).toEqual(straight.losses.slice(4));
    for (const [name, values] of straight.state) expect(resumed.state.get(name), name).toEqual(values);
  });

  test('checkpoints are PyTorch state_dicts (names, shapes, num_batches_tracked)', async () => {
    const r = await train({ ...base, trainLimit: 256, testLimit: 100 });
    const dir = must(latestCheckpointDir(r.dir), 'a checkpoint');
    const { tensors } = readSafetensors(join(dir, 'model.safetensors'));
    const net = seedCnn();
    for (const spec of net.stateSpecs) expect(tensors.get(spec.name)?.shape, spec.name).toEqual(spec.shape);
    const tracked = tensors.get('bn3.num_batches_tracked');
    expect(tracked?.dtype).toBe('I64');
    expect(tracked?.data[0]).toBe(4n); // 256 / 64 steps
    const optimizer = readSafetensors(join(dir, 'optimizer.safetensors')).tensors;
    expect(optimizer.get('conv1.weight.momentum_buffer')?.shape).toEqual([12, 1, 3, 3]);
    const trainer = JSON.parse(readFileSync(join(dir, 'trainer.json'), 'utf8'));
    expect(trainer.position).toEqual({ epoch: 1, batch: 0, step: 4 });
  });

  test('a diverging run stops with a clear error and keeps the last good checkpoint', async () => {
    const dir = runDir();
    const config = { ...base, trainLimit: 256, testLimit: 100, epochs: 2 };
    await train({ ...config, epochs: 1 }, dir);
    const good = must(latestCheckpointDir(dir), 'a checkpoint');
    const net = seedCnn();
    const checkpoint = loadCheckpoint(good, net);
    const error = await train({ ...config, lr: 1e12 }, dir, checkpoint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DivergedError);
    expect(messageOf(error)).toMatch(
      /^loss became (NaN|Infinity|-Infinity) at epoch 2, batch \d+, step \d+ \(lr 500000000000\); the last good checkpoint is .*epoch-001\. Try a lower --lr\.$/,
    );
    expect(latestCheckpointDir(dir)).toBe(good);
    expect(() => loadCheckpoint(good, net)).not.toThrow();
  });
});
