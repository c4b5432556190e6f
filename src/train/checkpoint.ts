/**
 * Checkpoints: `<run>/checkpoints/epoch-NNN/` holds
 *   model.safetensors      the PyTorch state_dict (loads into the seed's model as is),
 *   optimizer.safetensors  optimizer buffers (`conv1.weight.momentum_buffer`, ...),
 *   average.safetensors    when the run keeps one, the moving average of the model (a
 *                          state_dict like model.safetensors): what it evaluates and exports,
 *   trainer.json           position (epoch, batch, step), config, metrics so far, and the
 *                          SHA-256 of each tensor file.
 * The folder is written under a temporary name and renamed into place, so a crash at any
 * moment leaves only complete checkpoints. Nothing is written through a link, and only what
 * this program can tell it wrote is ever removed: a folder holding nothing but checkpoint
 * files. Anything else under a checkpoint's name is refused in one line, not deleted. Random draws are functions of
 * (seed, epoch, step), so the position and the seed are the whole random state.
 * Loading checks everything it can: the schema of trainer.json, the hashes (a flipped byte
 * anywhere in the tensors), the tensor names and shapes, and that every value is finite, so
 * a damaged or diverged checkpoint is refused by name instead of resumed or exported.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../model/network.js';
import { firstNonFinite, type StateDict } from '../model/state-dict.js';
import { ExpectedError, isSystemError, systemErrorReason, messageOf } from '../util/errors.js';
import { isAlive } from '../util/pid.node.js';
import { readFileOr } from '../util/read-file.node.js';
import { sha256Hex } from '../util/sha256.node.js';
import { decodeSafetensors, encodeSafetensors } from '../util/safetensors.node.js';
import { encodeModelState, isExtraName, SAFETENSORS_METADATA, toSafe } from './core/state-file.js';
import {
  CHECKPOINT_FORMAT,
  firstIssue,
  type Position,
  recipeDifference,
  type TrainConfig,
  type TrainerState,
  trainerStateSchema,
} from './core/config.js';
import { optimizerSlots } from '../graph/optim.js';
import { frozenParameters, SelectionError } from './core/freeze.js';
import { slotName } from '../model/graphs.js';

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
/** Everything a checkpoint folder can hold: a folder with anything else is not (only) ours. */
const CHECKPOINT_FILES = new Set([MODEL, OPTIMIZER, AVERAGE, TRAINER]);
/** A folder being written (or left by a crash while it was): `<name>.partial-<pid>[-<random>]`. */
const PARTIAL = /\.partial-(\d+)(?:-[0-9a-f]+)?$/;

function checkpointName({ epoch, batch }: Position): string {
  // A checkpoint after a full epoch is named by epochs done; a mid-epoch one by its batch too.
  return batch === 0
    ? `epoch-${String(epoch).padStart(3, '0')}`
    : `epoch-${String(epoch + 1).padStart(3, '0')}-batch-${batch}`;
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
  /** The network (PyTorch's BatchNorm counters and the other names of shared state are written too). */
  net: Network,
  average?: StateDict,
): string {
  const root = join(runDir, CHECKPOINTS);
  const final = join(root, checkpointName(trainer.position));
  const meta = { ...SAFETENSORS_METADATA };
  const files: Record<string, Uint8Array> = {
    [MODEL]: encodeModelState(model, net, trainer.position.step),
    [OPTIMIZER]: encodeSafetensors(toSafe(optimizer), meta),
  };
  if (average) files[AVERAGE] = encodeModelState(average, net, trainer.position.step);
  const state: TrainerState = {
    format: CHECKPOINT_FORMAT,
    ...trainer,
    files: Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, sha256Hex(bytes)])),
  };
  let partial: string | undefined;
  let writing = final;
  try {
    checkCheckpointsFolder(runDir, { create: true });
    const foreign = foreignContent(final);
    if (foreign) throw new CheckpointError(foreign);
    partial = newPartialFolder(final);
    const contents: [string, string | Uint8Array][] = [
      ...Object.entries(files),
      [TRAINER, `${JSON.stringify(state, null, 2)}\n`],
    ];
    for (const [name, data] of contents) {
      writing = join(partial, name);
      writeFileSync(writing, data, { flag: 'wx' });
    }
    writing = final;
    // a checkpoint of this position this program wrote (checked above), damaged or not
    rmSync(final, { recursive: true, force: true });
    renameSync(partial, final);
  } catch (e) {
    if (partial) rmSync(partial, { recursive: true, force: true });
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${writing}: cannot write the checkpoint: ${systemErrorReason(e)}`);
  }
  return final;
}

/**
 * Makes `<final>.partial-<pid>-<random>`, exclusively: a folder of that name made by anyone else is never written into.
 */
function newPartialFolder(final: string): string {
  for (let attempt = 0; ; attempt++) {
    const dir = `${final}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if (!(isSystemError(e) && e.code === 'EEXIST') || attempt >= 8) throw e;
    }
  }
}

/**
 * Why `path` (a checkpoint's name) holds something this program did not write, or undefined
 * when nothing is there or it is a folder of checkpoint files only, which this program may
 * replace. A link, a file, or a folder with anything else in it is someone else's.
 */
function foreignContent(path: string): string | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return undefined;
  const problem = (what: string) => `${path}: ${what}, which this program did not write; move it away, then --resume`;
  if (st.isSymbolicLink()) return problem('is a symbolic link');
  if (!st.isDirectory()) return problem('is a file, not a checkpoint folder');
  const other = readdirSync(path).find((name) => !CHECKPOINT_FILES.has(name));
  return other === undefined ? undefined : problem(`holds ${other}`);
}

/**
 * The run's `checkpoints` folder must be a real folder (or absent): through a link, saving and
 * clearing leftovers would act on folders elsewhere. `create` makes it when absent.
 */
function checkCheckpointsFolder(runDir: string, { create = false } = {}): void {
  const root = join(runDir, CHECKPOINTS);
  const st = lstatSync(root, { throwIfNoEntry: false });
  if (!st) {
    if (create) mkdirSync(root);
    return;
  }
  if (st.isSymbolicLink())
    throw new CheckpointError(
      `${root}: is a symbolic link; ` +
        `a run writes checkpoints only into a folder of its own. Move it away, then --resume`,
    );
  if (!st.isDirectory()) throw new CheckpointError(`${root}: is a file, not a folder; move it away, then --resume`);
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

/**
 * Before a resumed run writes: refuses, in one line, a `checkpoints` link and any folder under
 * a checkpoint's name that holds what this program did not write (it would have to be removed
 * when training reaches that name); removes `.partial-*` folders left by crashed runs (their
 * process gone, checkpoint files only). Only for the process that holds the run's lock.
 */
export function prepareCheckpointsForResume(runDir: string): void {
  checkCheckpointsFolder(runDir);
  const root = join(runDir, CHECKPOINTS);
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const partial = PARTIAL.exec(name);
    if (partial) {
      if (Number(partial[1]) !== process.pid && !isAlive(Number(partial[1])) && !foreignContent(path))
        rmSync(path, { recursive: true, force: true });
    } else if (progressOf(name)) {
      const foreign = foreignContent(path);
      if (foreign) throw new CheckpointError(foreign);
    }
  }
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
    throw new CheckpointError(`${file}: not valid JSON (${messageOf(e)})`);
  }
  const format = typeof json === 'object' && json !== null && 'format' in json ? json.format : undefined;
  if (format === 1) {
    throw new CheckpointError(
      `${file}: written by an older version (format 1, without file hashes), so it cannot be checked; train a new run`,
    );
  }
  const parsed = trainerStateSchema.safeParse(json);
  if (!parsed.success) throw new CheckpointError(`${file}: invalid checkpoint record: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** Reads one tensor file, checking its hash against trainer.json and that it holds finite float32 values. */
function readTensors(
  dir: string,
  name: string,
  expectedHash: string | undefined,
  skip: (tensor: string) => boolean,
): StateDict {
  const file = join(dir, name);
  if (expectedHash === undefined) throw new CheckpointError(`${join(dir, TRAINER)}: no hash recorded for ${name}`);
  const bytes = readFileOr(file, (problem) => new CheckpointError(`${file}: ${problem}`));
  if (sha256Hex(bytes) !== expectedHash) {
    throw new CheckpointError(
      `${file}: its SHA-256 does not match the one in ${TRAINER}: the file was changed or damaged after it was saved`,
    );
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
  const model = readTensors(dir, name, trainer.files[name], (tensor) => isExtraName(net, tensor));
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

/**
 * Reads the optimizer's file and checks it holds exactly the slots the recorded optimizer
 * keeps for each parameter (`conv1.weight.momentum_buffer`, ...), shapes included: a file
 * missing one, or an optimizer kind edited in trainer.json, is refused here, by name.
 */
function readOptimizerState(dir: string, trainer: TrainerState, net: Network): StateDict {
  const file = join(dir, OPTIMIZER);
  const state = readTensors(dir, OPTIMIZER, trainer.files[OPTIMIZER], () => false);
  let frozen: Set<string>;
  try {
    frozen = frozenParameters(net, trainer.config);
  } catch (e) {
    throw e instanceof SelectionError ? new CheckpointError(`${join(dir, TRAINER)}: ${e.message}`) : e;
  }
  const expected = net.parameterSpecs
    .filter((p) => !frozen.has(p.name))
    .flatMap((p) =>
      optimizerSlots(trainer.config.optimizer).map((slot) => ({ name: slotName(p.name, slot), shape: p.shape })),
    );
  const kind = trainer.config.optimizer.kind;
  for (const { name, shape } of expected) {
    const t = state.get(name);
    if (!t) throw new CheckpointError(`${file}: missing '${name}', which the recorded optimizer (${kind}) keeps`);
    if (t.shape.join() !== shape.join())
      throw new CheckpointError(`${file}: '${name}' has shape [${t.shape}], its parameter has [${shape}]`);
  }
  const extra = [...state.keys()].filter((k) => !expected.some((e) => e.name === k));
  if (extra.length)
    throw new CheckpointError(`${file}: unexpected entries ${extra.join(', ')} for the recorded optimizer (${kind})`);
  return state;
}

/**
 * Loads a checkpoint folder and checks it holds exactly the
 * network's state and its optimizer's, shapes included, all finite.
 */
export function loadCheckpoint(dir: string, net: Network): Checkpoint {
  const trainer = readTrainerState(dir);
  const model = readModelState(dir, MODEL, trainer, net);
  const optimizer = readOptimizerState(dir, trainer, net);
  if (!trainer.config.average) return { dir, model, optimizer, trainer };
  return { dir, model, optimizer, average: readModelState(dir, AVERAGE, trainer, net), trainer };
}

/**
 * The most advanced checkpoint of a run that loads and checks out; damaged, hand-edited or
 * non-finite ones are passed over (each reported to `onSkip`), so a bad checkpoint never
 * blocks an older good one. `accept` may refuse one more (a CheckpointError: a recipe that
 * differs from the run's). Undefined when the run has no checkpoint; a CheckpointError when
 * it has some but none is usable.
 */
export function loadNewestCheckpoint(
  runDir: string,
  net: Network,
  onSkip: (dir: string, problem: string) => void,
  accept: (c: Checkpoint) => void = () => {},
): Checkpoint | undefined {
  let newestProblem: string | undefined;
  for (const dir of checkpointDirs(runDir)) {
    try {
      const checkpoint = loadCheckpoint(dir, net);
      accept(checkpoint);
      return checkpoint;
    } catch (e) {
      if (!(e instanceof ExpectedError)) throw e;
      newestProblem ??= e.message;
      onSkip(dir, e.message);
    }
  }
  if (newestProblem) throw new CheckpointError(`${runDir}: no usable checkpoint (newest: ${newestProblem})`);
  return undefined;
}

/**
 * Refuses a checkpoint whose recipe is not its run's (run.json): what a resume may change
 * (epochs, learning-rate changes, max steps, test limit, threads, device) aside, the two must
 * agree, so that a schema-valid edit of trainer.json (another optimizer, nesterov) is caught.
 */
export function assertRecipeOf(runRecipe: TrainConfig, runFile: string): (c: Checkpoint) => void {
  return (c) => {
    const difference = recipeDifference(runRecipe, c.trainer.config);
    if (difference) {
      throw new CheckpointError(
        `${join(c.dir, TRAINER)}: its recipe differs from ${runFile} (${difference}): edited after it was saved`,
      );
    }
  };
}
