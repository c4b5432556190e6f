/**
 * A training run in a run folder, in Node: the library's trainer (core/trainer.ts, on
 * onnxruntime-node with a worker thread preparing batch k+1 while ORT runs batch k) fitting
 * the data, with the run folder's files written as it goes (the graphs, a checkpoint and
 * metrics.jsonl / curves.png after every epoch) and ORT's profiler when asked. What `npm run
 * train` runs; the training itself is the trainer's `fit`, the same as any library user's.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { serializeModel } from '../graph/serialize.js';
import { evalGraph } from '../model/graphs.js';
import type { Network } from '../model/network.js';
import type { StateDict } from '../model/state-dict.js';
import { writeFileAtomic } from '../util/atomic.node.js';
import { ExpectedError } from '../util/errors.js';
import { type Checkpoint, saveCheckpoint } from './checkpoint.js';
import type { EpochMetrics, TrainConfig } from './core/config.js';
import { OPSET } from './core/opset.js';
import { TrainerBase } from './core/trainer.js';
import type { Snapshot, TrainEvents } from './core/training-loop.js';
import { type NodeRuntime, nodeRuntime } from './node-runtime.js';
import { curvesPng } from './plot.js';
import { type ProfileSummary, readTrace, summarizeTrace } from './profile.js';

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

export class TrainingRun {
  private constructor(
    private readonly trainer: TrainerBase,
    private readonly data: Dataset,
    readonly runDir: string,
    private readonly runtime: NodeRuntime,
    private readonly profile?: ProfileOptions,
  ) {}

  /**
   * Builds graphs, sessions and the batch worker; with `resume`, continues from that
   * checkpoint exactly; with `profile`, ORT profiles the first training steps.
   */
  static async create(
    net: Network,
    config: TrainConfig,
    data: Dataset,
    runDir: string,
    resume?: TrainCheckpoint,
    profile?: ProfileOptions,
  ): Promise<TrainingRun> {
    mkdirSync(runDir, { recursive: true });
    // A run killed between its checkpoint and these files would keep them an epoch behind (and
    // one killed after its last checkpoint would never write them again): a resumed run
    // rewrites them from the checkpoint it continues.
    if (resume && resume.trainer.metrics.length > 0)
      await writeRunFiles(runDir, resume.trainer.metrics, () => 'no checkpoint was written yet');
    const runtime = nodeRuntime({ threads: config.threads, device: config.device }, profile && join(runDir, PROFILE));
    // The CLI has checked the run's memory (or was told not to) before making the run folder.
    const trainer = await TrainerBase.create(net, config, runtime, {
      resume: resume && { ...resume, ...resume.trainer, savedAt: resume.dir },
      allowLargeModel: true,
    });
    writeFileAtomic(join(runDir, 'train_step.onnx'), trainer.trainStepModel);
    writeFileAtomic(join(runDir, 'eval.onnx'), serializeModel(evalGraph(trainer.net), { opset: OPSET }));
    return new TrainingRun(trainer, data, runDir, runtime, profile);
  }

  /** True when the run has trained all its epochs (or reached its step limit). */
  get done(): boolean {
    const { epoch, step } = this.trainer.position;
    const { epochs, maxSteps } = this.trainer.recipe;
    return epoch >= epochs || (maxSteps !== undefined && step >= maxSteps);
  }

  get stepsPerEpoch(): number {
    const { trainLimit, batchSize } = this.trainer.recipe;
    return Math.ceil(Math.min(trainLimit ?? this.data.train.count, this.data.train.count) / batchSize);
  }

  get history(): readonly EpochMetrics[] {
    return this.trainer.history;
  }

  get lastCheckpoint(): string | undefined {
    return this.trainer.lastSaved;
  }

  /** The current model state (parameters and BatchNorm statistics), as views. */
  modelState(): StateDict {
    return this.trainer.modelState();
  }

  /** What survives a failure from here, said after a failed write. */
  private keepNote(): string {
    return this.lastCheckpoint ? `the last good checkpoint is ${this.lastCheckpoint}` : 'no checkpoint was written yet';
  }

  /** A checkpoint of `s`, then the run files that summarise it. */
  private async save(s: Snapshot): Promise<string> {
    const trainerState = {
      position: s.position,
      config: s.config,
      metrics: [...s.metrics],
      savedAt: new Date().toISOString(),
    };
    const dir = keepingLastCheckpoint(
      () => saveCheckpoint(this.runDir, s.model, s.optimizer, trainerState, this.trainer.net, s.average),
      () => this.keepNote(),
    );
    await writeRunFiles(this.runDir, s.metrics, () => this.keepNote());
    return dir;
  }

  /** Runs the remaining epochs (or up to maxSteps), checkpointing after each. */
  async run(events: TrainEvents = {}): Promise<readonly EpochMetrics[]> {
    const { epochs, testLimit } = this.trainer.recipe;
    const { position } = this.trainer;
    const { onEpoch } = events;
    let steps = 0;
    let reported = false;
    const profile = this.profile;
    const finish = () => {
      if (reported || !profile) return;
      reported = true;
      this.reportProfile(profile);
    };
    try {
      await this.trainer.fit(this.data.train, {
        epochs: Math.max(epochs - position.epoch, 0), // and the recipe's maxSteps, which fit honours
        validation: this.data.test,
        validationLimit: testLimit,
        save: (s) => this.save(s),
        onEpochStart: events.onEpochStart,
        onEpoch: onEpoch && ((m) => onEpoch(m, this.lastCheckpoint)),
        onStep: (info) => {
          const waiting = events.onStep?.(info);
          if (profile && ++steps === profile.warmup + profile.steps) finish();
          return waiting;
        },
      });
    } finally {
      finish(); // a run shorter than the profile still reports what it profiled
    }
    return this.trainer.history;
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
    return this.trainer.close();
  }
}

/** A failed write (a full disk, say) also says which checkpoint is intact. */
function keepingLastCheckpoint<T>(write: () => T, keepNote: () => string): T {
  try {
    return write();
  } catch (e) {
    throw e instanceof ExpectedError ? new ExpectedError(`${e.message}; ${keepNote()} and intact`) : e;
  }
}

/** metrics.jsonl and curves.png: what the checkpoints' records say, written after each checkpoint. */
async function writeRunFiles(runDir: string, metrics: readonly EpochMetrics[], keepNote: () => string): Promise<void> {
  const runFiles: [string, string | Uint8Array][] = [
    ['metrics.jsonl', metrics.map((m) => `${JSON.stringify(m)}\n`).join('')],
    ['curves.png', await curvesPng([...metrics])],
  ];
  for (const [name, data] of runFiles) keepingLastCheckpoint(() => writeFileAtomic(join(runDir, name), data), keepNote);
}
