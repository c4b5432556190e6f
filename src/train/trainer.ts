/**
 * The Node binding of the training loop: onnxruntime-node sessions (CPU or CUDA), a worker
 * thread that prepares batch k+1 while ORT runs batch k, and the run folder's files
 * (the graphs, a checkpoint and metrics.jsonl / curves.png after every epoch). The loop
 * itself is runtime-neutral: src/train/core/training-loop.ts.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { serializeModel } from '../graph/serialize.js';
import { dropoutMasks, evalGraph } from '../model/graphs.js';
import type { Network, StateDict } from '../model/network.js';
import { writeFileAtomic } from '../util/atomic.node.js';
import { ExpectedError } from '../util/errors.js';
import { BatchPrefetcher } from './batch-prefetcher.js';
import { type Checkpoint, saveCheckpoint } from './checkpoint.js';
import type { EpochMetrics, TrainConfig } from './core/config.js';
import { OPSET } from './core/opset.js';
import { type Snapshot, type TrainEvents, TrainingLoop } from './core/training-loop.js';
import { curvesPng } from './plot.js';
import { type ProfileSummary, readTrace, summarizeTrace } from './profile.js';
import { batchNormNames } from './core/state-file.js';
import { type NodeRuntime, nodeRuntime } from './node-runtime.js';

export { DivergedError } from './core/training-loop.js';
export type TrainCheckpoint = Checkpoint;

export interface ProfileOptions {
  /** Steps run before the profiled ones (first runs allocate and warm caches). */
  warmup: number;
  steps: number;
  /** Called once the profiled steps are done, with the summary and the trace's path. */
  report(summary: ProfileSummary, trace: string): void;
}

const PROFILE = 'profile';

export class Trainer {
  private constructor(
    private readonly loop: TrainingLoop,
    readonly runDir: string,
    private readonly runtime: NodeRuntime,
    private readonly profile?: ProfileOptions,
  ) {}

  /**
   * Builds graphs, sessions and the batch worker; with `resume`, continues from that
   * checkpoint exactly; with `profile`, ORT profiles the first training steps.
   */
  static async create(net: Network, config: TrainConfig, data: Dataset, runDir: string, resume?: TrainCheckpoint, profile?: ProfileOptions): Promise<Trainer> {
    mkdirSync(runDir, { recursive: true });
    const masks = dropoutMasks(net, config.batchSize);
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
    /** metrics.jsonl and curves.png: what the checkpoints' records say, written after each checkpoint. */
    const writeRunFiles = async (metrics: readonly EpochMetrics[]) => {
      const runFiles: [string, string | Uint8Array][] = [
        ['metrics.jsonl', metrics.map((m) => `${JSON.stringify(m)}\n`).join('')],
        ['curves.png', await curvesPng([...metrics])],
      ];
      for (const [name, data] of runFiles) keepingLastCheckpoint(() => writeFileAtomic(join(runDir, name), data));
    };
    const save = async (s: Snapshot): Promise<string> => {
      const batchNorms = batchNormNames(net);
      const trainerState = { position: s.position, config: s.config, metrics: [...s.metrics], savedAt: new Date().toISOString() };
      const dir = keepingLastCheckpoint(() => saveCheckpoint(runDir, s.model, s.optimizer, trainerState, batchNorms, s.average));
      await writeRunFiles(s.metrics);
      return dir;
    };
    // A run killed between its checkpoint and these files would keep them an epoch behind (and
    // one killed after its last checkpoint would never write them again): a resumed run
    // rewrites them from the checkpoint it continues.
    if (resume && resume.trainer.metrics.length > 0) await writeRunFiles(resume.trainer.metrics);
    const runtime = nodeRuntime({ threads: config.threads, device: config.device }, profile && join(runDir, PROFILE));
    loop = await TrainingLoop.create(net, config, { runtime, batches, test: data.test, save }, resume && { ...resume, ...resume.trainer, savedAt: resume.dir });
    writeFileAtomic(join(runDir, 'train_step.onnx'), loop.trainStepModel);
    writeFileAtomic(join(runDir, 'eval.onnx'), serializeModel(evalGraph(net), { opset: OPSET }));
    return new Trainer(loop, runDir, runtime, profile);
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
  async run(events: TrainEvents = {}): Promise<EpochMetrics[]> {
    const profile = this.profile;
    if (!profile) return this.loop.run(events);
    let steps = 0;
    let reported = false;
    const finish = () => {
      if (reported) return;
      reported = true;
      this.reportProfile(profile);
    };
    try {
      return await this.loop.run({
        ...events,
        onBatch: (info) => {
          events.onBatch?.(info);
          if (++steps === profile.warmup + profile.steps) finish();
        },
      });
    } finally {
      finish(); // a run shorter than the profile still reports what it profiled
    }
  }

  /** Ends profiling; ORT's trace becomes `<run>/profile.json` and its summary goes to `report`. */
  private reportProfile(profile: ProfileOptions): void {
    this.runtime.endProfiling();
    const written = readdirSync(this.runDir)
      .filter((f) => f.startsWith(`${PROFILE}_`) && f.endsWith('.json'))
      .map((f) => join(this.runDir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size); // the full batch's session ran the most steps
    if (written.length === 0) return; // no training step ran
    const trace = join(this.runDir, `${PROFILE}.json`);
    renameSync(written[0], trace);
    for (const extra of written.slice(1)) rmSync(extra); // the smaller last batch's session
    profile.report(summarizeTrace(readTrace(trace), profile.warmup), trace);
  }

  close(): Promise<void> {
    return this.loop.close();
  }
}
