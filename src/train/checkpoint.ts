/**
 * Checkpoints: `<run>/checkpoints/epoch-NNN/` holds
 *   model.safetensors      the PyTorch state_dict (loads into the seed's model as is),
 *   optimizer.safetensors  optimizer buffers (`conv1.weight.momentum_buffer`, ...),
 *   average.safetensors    when the run keeps one, the moving average of the model (a
 *                          state_dict like model.safetensors): what it evaluates and exports,
 *   trainer.json           position (epoch, batch, step), config, metrics so far, and the
 *                          SHA-256 of each tensor file.
 * The folder is written under a temporary name and renamed into place, so a crash at any
 * moment leaves only complete checkpoints. Random draws are functions of (seed, epoch,
 * step), so the position and the seed are the whole random state.
 * Loading checks everything it can: the schema of trainer.json, the hashes (a flipped byte
 * anywhere in the tensors), the tensor names and shapes, and that every value is finite, so
 * a damaged or diverged checkpoint is refused by name instead of resumed or exported.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstNonFinite, type Network, type StateDict } from '../model/network.js';
import { ExpectedError, systemErrorReason } from '../util/errors.js';
import { readFileOr } from '../util/read-file.js';
import { sha256Hex } from '../util/sha256.js';
import { decodeSafetensors, encodeSafetensors } from '../util/safetensors.js';
import { encodeModelState, SAFETENSORS_METADATA, toSafe } from './state-file.js';
import { CHECKPOINT_FORMAT, firstIssue, type Position, type TrainerState, trainerStateSchema } from './core/config.js';

export interface Checkpoint {
  dir: string;
  /** The live weights and BatchNorm statistics. */
  model: StateDict;
  optimizer: StateDict;
  /** The moving average of the model, when the run keeps one. */
  average?: StateDict;
  trainer: TrainerState;
}

/** The state a checkpoint's run evaluates and exports: its moving average if it has one. */
export const evaluatedState = (c: Checkpoint): StateDict => c.average ?? c.model;

export class CheckpointError extends ExpectedError {}

const CHECKPOINTS = 'checkpoints';
const NAME = /^epoch-(\d{3,})(?:-batch-(\d+))?$/;
const MODEL = 'model.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const AVERAGE = 'average.safetensors';
const TRAINER = 'trainer.json';

function checkpointName({ epoch, batch }: Position): string {
  // A checkpoint after a full epoch is named by epochs done; a mid-epoch one by its batch too.
  return batch === 0 ? `epoch-${String(epoch).padStart(3, '0')}` : `epoch-${String(epoch + 1).padStart(3, '0')}-batch-${batch}`;
}

/** Progress encoded in a checkpoint's name, for ordering without reading it: [epochs done, batch]. */
function progressOf(name: string): [number, number] | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined; // `.partial-*` leftovers of a crash and anything else
  return m[2] === undefined ? [Number(m[1]), 0] : [Number(m[1]) - 1, Number(m[2])];
}

/**
 * Writes a checkpoint and returns its folder. A failed write (a full disk, say) removes the
 * partial folder and throws a CheckpointError naming the file; older checkpoints are untouched.
 */
export function saveCheckpoint(
  runDir: string,
  model: StateDict,
  optimizer: StateDict,
  trainer: Omit<TrainerState, 'format' | 'files'>,
  /** PyTorch's BatchNorm counter, written beside each BatchNorm's running statistics. */
  batchNorms: readonly string[],
  average?: StateDict,
): string {
  const root = join(runDir, CHECKPOINTS);
  const final = join(root, checkpointName(trainer.position));
  const partial = `${final}.partial-${process.pid}`;
  const meta = { ...SAFETENSORS_METADATA };
  const files: Record<string, Uint8Array> = {
    [MODEL]: encodeModelState(model, batchNorms, trainer.position.step),
    [OPTIMIZER]: encodeSafetensors(toSafe(optimizer), meta),
  };
  if (average) files[AVERAGE] = encodeModelState(average, batchNorms, trainer.position.step);
  const state: TrainerState = {
    format: CHECKPOINT_FORMAT,
    ...trainer,
    files: Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, sha256Hex(bytes)])),
  };
  let writing = partial;
  try {
    mkdirSync(root, { recursive: true });
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial);
    for (const [name, bytes] of Object.entries(files)) writeFileSync((writing = join(partial, name)), bytes);
    writeFileSync((writing = join(partial, TRAINER)), `${JSON.stringify(state, null, 2)}\n`);
    writing = final;
    rmSync(final, { recursive: true, force: true });
    renameSync(partial, final);
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw new CheckpointError(`${writing}: cannot write the checkpoint: ${systemErrorReason(e)}`);
  }
  return final;
}

/** A run's checkpoint folders, most advanced first (by name: nothing is read). */
export function checkpointDirs(runDir: string): string[] {
  const root = join(runDir, CHECKPOINTS);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ name, progress: progressOf(name) }))
    .filter((c): c is { name: string; progress: [number, number] } => c.progress !== undefined)
    .sort((a, b) => b.progress[0] - a.progress[0] || b.progress[1] - a.progress[1])
    .map((c) => join(root, c.name));
}

/** The most advanced checkpoint folder of a run (unchecked), or undefined if it has none. */
export function latestCheckpointDir(runDir: string): string | undefined {
  return checkpointDirs(runDir)[0];
}

/** Removes `.partial-*` folders left by a crash; only for the process that holds the run's lock. */
export function removePartialCheckpoints(runDir: string): void {
  const root = join(runDir, CHECKPOINTS);
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) if (/\.partial-\d+$/.test(name)) rmSync(join(root, name), { recursive: true, force: true });
}

/** A checkpoint's trainer.json, checked against its schema. */
export function readTrainerState(dir: string): TrainerState {
  const file = join(dir, TRAINER);
  if (!existsSync(file)) throw new CheckpointError(`${dir}: not a checkpoint (no ${TRAINER})`);
  const text = Buffer.from(readFileOr(file, (problem) => new CheckpointError(`${file}: ${problem}`))).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const format = typeof json === 'object' && json !== null ? (json as { format?: unknown }).format : undefined;
  if (format === 1) {
    throw new CheckpointError(`${file}: written by an older version (format 1, without file hashes), so it cannot be checked; train a new run`);
  }
  const parsed = trainerStateSchema.safeParse(json);
  if (!parsed.success) throw new CheckpointError(`${file}: invalid checkpoint record: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** Reads one tensor file, checking its hash against trainer.json and that it holds finite float32 values. */
function readTensors(dir: string, name: string, expectedHash: string | undefined, skip: (tensor: string) => boolean): StateDict {
  const file = join(dir, name);
  if (expectedHash === undefined) throw new CheckpointError(`${join(dir, TRAINER)}: no hash recorded for ${name}`);
  const bytes = readFileOr(file, (problem) => new CheckpointError(`${file}: ${problem}`));
  if (sha256Hex(bytes) !== expectedHash) {
    throw new CheckpointError(`${file}: its SHA-256 does not match the one in ${TRAINER}: the file was changed or damaged after it was saved`);
  }
  const state: StateDict = new Map();
  for (const [tensor, t] of decodeSafetensors(bytes, file).tensors) {
    if (skip(tensor)) continue;
    if (t.dtype !== 'F32') throw new CheckpointError(`${file}: '${tensor}' is ${t.dtype}, expected F32`);
    state.set(tensor, { shape: t.shape, data: t.data });
  }
  const bad = firstNonFinite(state);
  if (bad) throw new CheckpointError(`${file}: ${bad}; a checkpoint with non-finite values cannot be used`);
  return state;
}

/** Reads a state_dict file of the model and checks it holds exactly the network's state, shapes included. */
function readModelState(dir: string, name: string, trainer: TrainerState, net: Network): StateDict {
  const file = join(dir, name);
  const model = readTensors(dir, name, trainer.files[name], (tensor) => tensor.endsWith('.num_batches_tracked'));
  for (const spec of net.stateSpecs) {
    const t = model.get(spec.name);
    if (!t) throw new CheckpointError(`${file}: missing '${spec.name}'`);
    if (t.shape.join() !== spec.shape.join()) {
      throw new CheckpointError(`${file}: '${spec.name}' has shape [${t.shape}], the network expects [${spec.shape}]`);
    }
  }
  const extra = [...model.keys()].filter((k) => !net.stateSpecs.some((s) => s.name === k));
  if (extra.length) throw new CheckpointError(`${file}: unexpected entries ${extra.join(', ')}`);
  return model;
}

/** Loads a checkpoint folder and checks it holds exactly the network's state, shapes included, all finite. */
export function loadCheckpoint(dir: string, net: Network): Checkpoint {
  const trainer = readTrainerState(dir);
  const model = readModelState(dir, MODEL, trainer, net);
  const optimizer = readTensors(dir, OPTIMIZER, trainer.files[OPTIMIZER], () => false);
  if (!trainer.config.average) return { dir, model, optimizer, trainer };
  return { dir, model, optimizer, average: readModelState(dir, AVERAGE, trainer, net), trainer };
}

/**
 * The most advanced checkpoint of a run that loads and checks out; damaged, hand-edited or
 * non-finite ones are passed over (each reported to `onSkip`), so a bad checkpoint never
 * blocks an older good one. Undefined when the run has no checkpoint; a CheckpointError when
 * it has some but none is usable.
 */
export function loadNewestCheckpoint(runDir: string, net: Network, onSkip: (dir: string, problem: string) => void): Checkpoint | undefined {
  let newestProblem: string | undefined;
  for (const dir of checkpointDirs(runDir)) {
    try {
      return loadCheckpoint(dir, net);
    } catch (e) {
      if (!(e instanceof ExpectedError)) throw e;
      newestProblem ??= e.message;
      onSkip(dir, e.message);
    }
  }
  if (newestProblem) throw new CheckpointError(`${runDir}: no usable checkpoint (newest: ${newestProblem})`);
  return undefined;
}
