/**
 * The Node binding of the training loop: onnxruntime-node sessions (CPU or CUDA), a worker
 * thread that prepares batch k+1 while ORT runs batch k, and the run folder's files
 * (the graphs, a checkpoint and metrics.jsonl / curves.png after every epoch). The loop
 * itself is runtime-neutral: src/train/core/training-loop.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { serializeModel } from '../graph/serialize.js';
import { evalGraph, trainStepGraph } from '../model/graphs.js';
import type { Network, StateDict } from '../model/network.js';
import { writeFileAtomic } from '../util/atomic.js';
import { ExpectedError } from '../util/errors.js';
import { BatchPrefetcher } from './batch-prefetcher.js';
import { type Checkpoint, saveCheckpoint } from './checkpoint.js';
import type { EpochMetrics, TrainConfig } from './core/config.js';
import { OPSET } from './core/opset.js';
import { type Snapshot, type TrainEvents, TrainingLoop } from './core/training-loop.js';
import { curvesPng } from './plot.js';
import { nodeRuntime } from './session.js';

export type { EpochMetrics, TrainConfig } from './core/config.js';
export { DivergedError, type TrainEvents } from './core/training-loop.js';
export type TrainCheckpoint = Checkpoint;

export class Trainer {
  private constructor(
    private readonly loop: TrainingLoop,
    readonly runDir: string,
  ) {}

  /** Builds graphs, sessions and the batch worker; with `resume`, continues from that checkpoint exactly. */
  static async create(net: Network, config: TrainConfig, data: Dataset, runDir: string, resume?: TrainCheckpoint): Promise<Trainer> {
    mkdirSync(runDir, { recursive: true });
    const masks = trainStepGraph(net, config.batchSize, config.optimizer).masks;
    const batches = await BatchPrefetcher.create(data.train, {
      examples: config.trainLimit ?? data.train.count,
      batchSize: config.batchSize,
      seed: config.seed,
      shuffle: config.shuffle,
      augment: config.augment,
      masks,
    });
    let loop: TrainingLoop | undefined;
    /** A failed write (a full disk, say) also says which checkpoint is intact. */
    const keepingLastCheckpoint = <T>(write: () => T): T => {
      try {
        return write();
      } catch (e) {
        throw e instanceof ExpectedError ? new ExpectedError(`${e.message}; ${loop?.keepNote()} and intact`) : e;
      }
    };
    const save = async (s: Snapshot): Promise<string> => {
      const batchNorms = net.layers.filter((l) => l.kind === 'BatchNorm2d').map((l) => l.name);
      const trainerState = { position: s.position, config: s.config, metrics: [...s.metrics], savedAt: new Date().toISOString() };
      const dir = keepingLastCheckpoint(() => saveCheckpoint(runDir, s.model, s.optimizer, trainerState, batchNorms));
      const runFiles: [string, string | Uint8Array][] = [
        ['metrics.jsonl', s.metrics.map((m) => `${JSON.stringify(m)}\n`).join('')],
        ['curves.png', await curvesPng([...s.metrics])],
      ];
      for (const [name, data] of runFiles) keepingLastCheckpoint(() => writeFileAtomic(join(runDir, name), data));
      return dir;
    };
    const runtime = nodeRuntime({ threads: config.threads, device: config.device });
    loop = await TrainingLoop.create(
      net,
      config,
      { runtime, batches, test: data.test, save },
      resume && { ...resume, ...resume.trainer, savedAt: resume.dir },
    );
    writeFileAtomic(join(runDir, 'train_step.onnx'), loop.trainStepModel);
    writeFileAtomic(join(runDir, 'eval.onnx'), serializeModel(evalGraph(net), { opset: OPSET }));
    return new Trainer(loop, runDir);
  }

  get stepsPerEpoch(): number {
    return this.loop.stepsPerEpoch;
  }

  get done(): boolean {
    return this.loop.done;
  }

  get history(): readonly EpochMetrics[] {
    return this.loop.history;
  }

  get lastCheckpoint(): string | undefined {
    return this.loop.lastSavedAt;
  }

  /** The current model state (parameters and BatchNorm statistics), as views. */
  modelState(): StateDict {
    return this.loop.modelState();
  }

  /** Runs the remaining epochs (or up to maxSteps), checkpointing after each. */
  run(events: TrainEvents = {}): Promise<EpochMetrics[]> {
    return this.loop.run(events);
  }

  close(): Promise<void> {
    return this.loop.close();
  }
}
