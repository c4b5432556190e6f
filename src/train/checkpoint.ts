/**
 * Checkpoints: `<run>/checkpoints/epoch-NNN/` holds
 *   model.safetensors      the PyTorch state_dict (loads into the seed's model as is),
 *   optimizer.safetensors  optimizer buffers (`conv1.weight.momentum_buffer`, ...),
 *   trainer.json           position (epoch, batch, step), config, metrics so far.
 * The folder is written under a temporary name and renamed into place, so a crash at any
 * moment leaves only complete checkpoints. Random draws are functions of (seed, epoch,
 * step), so the position and the seed are the whole random state.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Network, StateDict } from '../model/network.js';
import { encodeSafetensors, readSafetensors, type SafeTensor } from '../util/safetensors.js';
import { ExpectedError } from '../util/errors.js';

export interface Position {
  /** Epoch to continue in (0-based). */
  epoch: number;
  /** First batch of that epoch still to run. */
  batch: number;
  /** Optimizer steps taken so far. */
  step: number;
}

export interface TrainerState<Config, Metrics> {
  format: 1;
  position: Position;
  config: Config;
  metrics: Metrics[];
  savedAt: string;
}

export interface Checkpoint<Config = unknown, Metrics = unknown> {
  dir: string;
  model: StateDict;
  optimizer: StateDict;
  trainer: TrainerState<Config, Metrics>;
}

export class CheckpointError extends ExpectedError {}

const CHECKPOINTS = 'checkpoints';
const NAME = /^epoch-(\d{3,})(?:-batch-(\d+))?$/;

function checkpointName({ epoch, batch }: Position): string {
  // A checkpoint after a full epoch is named by epochs done; a mid-epoch one by its batch too.
  return batch === 0 ? `epoch-${String(epoch).padStart(3, '0')}` : `epoch-${String(epoch + 1).padStart(3, '0')}-batch-${batch}`;
}

function toSafe(state: StateDict): Map<string, SafeTensor> {
  return new Map([...state].map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: t.data }]));
}

export function saveCheckpoint<C, M>(
  runDir: string,
  model: StateDict,
  optimizer: StateDict,
  trainer: TrainerState<C, M>,
  /** PyTorch's BatchNorm counter, written beside each BatchNorm's running statistics. */
  batchNorms: readonly string[],
): string {
  const root = join(runDir, CHECKPOINTS);
  mkdirSync(root, { recursive: true });
  const final = join(root, checkpointName(trainer.position));
  const partial = `${final}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  const tensors = toSafe(model);
  for (const bn of batchNorms) {
    tensors.set(`${bn}.num_batches_tracked`, { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(trainer.position.step)) });
  }
  const meta = { format: 'pt', producer: 'onnx-mnist-train' };
  writeFileSync(join(partial, 'model.safetensors'), encodeSafetensors(tensors, meta));
  writeFileSync(join(partial, 'optimizer.safetensors'), encodeSafetensors(toSafe(optimizer), meta));
  writeFileSync(join(partial, 'trainer.json'), `${JSON.stringify(trainer, null, 2)}\n`);
  rmSync(final, { recursive: true, force: true });
  renameSync(partial, final);
  return final;
}

/** The most advanced complete checkpoint of a run, or undefined if it has none. */
export function latestCheckpointDir(runDir: string): string | undefined {
  const root = join(runDir, CHECKPOINTS);
  if (!existsSync(root)) return undefined;
  let best: { dir: string; step: number } | undefined;
  for (const name of readdirSync(root)) {
    if (!NAME.test(name)) continue; // skips `.partial-*` leftovers of a crash
    const file = join(root, name, 'trainer.json');
    if (!existsSync(file)) continue;
    const step = (JSON.parse(readFileSync(file, 'utf8')) as TrainerState<unknown, unknown>).position.step;
    if (!best || step > best.step) best = { dir: join(root, name), step };
  }
  return best?.dir;
}

function floatState(file: string, skip: (name: string) => boolean): StateDict {
  const state: StateDict = new Map();
  for (const [name, t] of readSafetensors(file).tensors) {
    if (skip(name)) continue;
    if (t.dtype !== 'F32') throw new CheckpointError(`${file}: '${name}' is ${t.dtype}, expected F32`);
    state.set(name, { shape: t.shape, data: t.data });
  }
  return state;
}

/** Loads a checkpoint folder and checks it holds exactly the network's state, shapes included. */
export function loadCheckpoint<C, M>(dir: string, net: Network): Checkpoint<C, M> {
  const trainerFile = join(dir, 'trainer.json');
  if (!existsSync(trainerFile)) throw new CheckpointError(`${dir}: not a checkpoint (no trainer.json)`);
  let trainer: TrainerState<C, M>;
  try {
    trainer = JSON.parse(readFileSync(trainerFile, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${trainerFile}: not valid JSON (${(e as Error).message})`);
  }
  const modelFile = join(dir, 'model.safetensors');
  const model = floatState(modelFile, (name) => name.endsWith('.num_batches_tracked'));
  for (const spec of net.stateSpecs) {
    const t = model.get(spec.name);
    if (!t) throw new CheckpointError(`${modelFile}: missing '${spec.name}'`);
    if (t.shape.join() !== spec.shape.join()) {
      throw new CheckpointError(`${modelFile}: '${spec.name}' has shape [${t.shape}], the network expects [${spec.shape}]`);
    }
  }
  const extra = [...model.keys()].filter((k) => !net.stateSpecs.some((s) => s.name === k));
  if (extra.length) throw new CheckpointError(`${modelFile}: unexpected entries ${extra.join(', ')}`);
  const optimizer = floatState(join(dir, 'optimizer.safetensors'), () => false);
  return { dir, model, optimizer, trainer };
}
