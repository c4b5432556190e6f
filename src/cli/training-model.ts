/**
 * `--model <file>`: a TypeScript model file whose default export is a module written with the
 * public API (`import { Sequential, Conv2d } from 'onnx-mnist-train'`), and optionally
 * `export const inputShape = [1, 28, 28]`; or an `.onnx` that PyTorch exported
 * (src/model/onnx-import.ts). It is loaded, emitted once (so a layer that does not fit fails
 * here, named), and recorded by absolute path and SHA-256: a resumed run and an export use the
 * model the run trained and refuse the file once it has been edited. Without `--model`, the
 * built-in seed CNN.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MNIST_CLASSES, type Split } from '../data/dataset.js';
import { dataMismatch } from '../train/core/model-fit.js';
import type onnxProto from 'onnx-proto';
import { checkExternalData, parseModelFile } from '../export/onnx-file.node.js';
import { onnx } from '../graph/serialize.js';
import { classCount } from '../model/graphs.js';
import { importOnnx } from '../model/onnx-import.js';
import { networkFromExports } from '../model/model-exports.js';
import { Module } from '../model/module.js';
import type { Network } from '../model/network.js';
import { seedCnn } from '../model/seed-cnn.js';
import type { BuiltinShape, ModelRecord } from '../train/core/config.js';
import { decodeModelState } from '../train/core/state-file.js';
import { readFileOr, readRangeOr } from '../util/read-file.node.js';
import { ExpectedError, FileError, messageOf } from '../util/errors.js';
import { sha256Hex } from '../util/sha256.node.js';
import { localImports } from '../util/module-graph.node.js';
import { settled } from './errors.js';

const MODEL_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

export interface ModelChoice {
  net: Network;
  /** The network's outputs per image: [N, classes]. */
  classes: number;
  /** The file and its SHA-256; absent for the built-in seed CNN. */
  record?: ModelRecord;
  /** The file's bytes (a run folder keeps a copy). */
  source?: Uint8Array;
}

/**
 * A model's one-line problem (an ImportError, a ModelExportsError,
 * a NetworkError naming a layer) as an error naming its file too.
 */
const namingFile = (file: string, e: unknown): unknown =>
  e instanceof ExpectedError && !(e instanceof FileError) ? new FileError(file, e.message) : e;

/** How a model is named to the user: its file as given, or the built-in one. */
export const modelLabel = (record: ModelRecord | undefined): string => record?.file ?? 'the built-in seed CNN';

/** The network's class count, checking on the way that it emits and ends in [N, classes]. */
function classesOf(net: Network, file: string): number {
  try {
    return classCount(net);
  } catch (e) {
    throw namingFile(file, e);
  }
}

/** The built-in seed CNN: on 1x28x28 images of 10 classes, or of `shape`. */
export function builtinModel(shape?: BuiltinShape): ModelChoice {
  return shape ? { net: seedCnn(shape), classes: shape.classes } : { net: seedCnn(), classes: MNIST_CLASSES };
}

/**
 * The built-in seed CNN's shape for `data` when it is not MNIST's: the images' shape (an image
 * tree is decoded at 1x28x28 for it; CIFAR-10 gives 3x32x32) and the number of classes.
 */
export function builtinShapeFor(data: Split): BuiltinShape | undefined {
  const classes = data.classNames?.length ?? classCountOfLabels(data);
  const fits = data.shape.join() === '1,28,28' && classes === MNIST_CLASSES;
  return fits ? undefined : { inputShape: [...data.shape], classes };
}

/** Classes that integer labels name: one more than the largest (at least two). */
function classCountOfLabels(data: Split): number {
  if (data.labels instanceof Float32Array) return MNIST_CLASSES;
  let max = 1;
  for (const l of data.labels) if (l > max) max = l;
  return max + 1;
}

/** Refuses a model that cannot take the data's images or give its classes. */
export function assertFitsData(model: ModelChoice, data: Split): void {
  const problem = dataMismatch(model.net, data, model.classes);
  if (problem) throw new FileError(modelLabel(model.record), problem);
}

function firstLine(e: unknown): string {
  const text = messageOf(e);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /error/i.test(l) && l !== lines[0]) ?? lines[0] ?? 'unknown error';
}

/**
 * An exported model's bytes with any external tensor data read in: only from a plain file
 * beside the model (predict's rule, src/export/onnx-file.node.ts), at the offset and length given.
 */
function withExternalData(file: string, bytes: Uint8Array): Uint8Array | onnxProto.onnx.ModelProto {
  const model = parseModelFile(file, bytes);
  if (!checkExternalData(file, model)) return bytes;
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
    const length = entry('length');
    // Only the tensor's bytes are read, not the whole file (which may hold every tensor, or be huge).
    t.rawData = readRangeOr(
      join(dirname(file), entry('location') ?? ''),
      Number(entry('offset') ?? 0),
      length === undefined ? undefined : Number(length),
      (problem) => new FileError(file, `external data of '${t.name}': ${problem}`),
    );
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
  }
  return model;
}

/** An `.onnx` exported by PyTorch, imported (one line naming the file for what cannot be). */
function loadOnnxModel(file: string, path: string, source: Uint8Array): ModelChoice {
  let net: Network;
  try {
    ({ net } = importOnnx(withExternalData(path, source), basename(path, '.onnx')));
  } catch (e) {
    throw namingFile(file, e);
  }
  return { net, classes: classesOf(net, file), record: { file: path, sha256: sha256Hex(source) }, source };
}

/** Loads, checks and records a model file. */
export async function loadModelFile(file: string): Promise<ModelChoice> {
  const path = resolve(file);
  const ext = extname(path);
  if (ext !== '.onnx' && !MODEL_EXTENSIONS.includes(ext)) {
    throw new FileError(
      file,
      `not a model file: expected a TypeScript module (${MODEL_EXTENSIONS.join(', ')}) or an .onnx`,
    );
  }
  const source = readFileOr(path, (problem) => new FileError(file, problem));
  if (ext === '.onnx') return loadOnnxModel(file, path, source);
  let exports: Record<string, unknown>;
  try {
    exports = (await settled(file, import(pathToFileURL(path).href))) as Record<string, unknown>;
  } catch (e) {
    throw new FileError(file, `failed to load: ${firstLine(e)}`);
  }
  let net: Network;
  try {
    net = networkFromExports(basename(path, ext), exports);
  } catch (e) {
    throw namingFile(file, e);
  }
  if (!(net.root instanceof Module)) {
    // Node loaded the file as CommonJS, and with it a second copy of this package, whose layers
    // this copy cannot tell apart (BatchNorm to fold, errors to report) from anything else.
    throw new FileError(
      file,
      'was loaded as CommonJS (no "type": "module" in a package.json above it), with its own copy of this package: ' +
        'rename it to .mts, or add "type": "module"',
    );
  }
  const imports = importHashes(path);
  return {
    net,
    classes: classesOf(net, file),
    record: { file: path, sha256: sha256Hex(source), ...(imports && { imports }) },
    source,
  };
}

/**
 * The SHA-256 of each local file a model file imports (helpers beside it), so that a run can
 * tell when one of them changed (a ReLU edited to Tanh in ./helper.ts trains another network);
 * undefined when it imports none.
 */
function importHashes(path: string): Record<string, string> | undefined {
  const files = localImports(path);
  return files.length ? Object.fromEntries(files.map((f) => [f, sha256Hex(readFileSync(f))])) : undefined;
}

/**
 * The first file a recorded model imports that is gone or now holds other
 * bytes, as an error naming it; undefined when all are as recorded.
 */
function changedImport(record: ModelRecord): FileError | undefined {
  for (const [file, sha256] of Object.entries(record.imports ?? {})) {
    let now: string;
    try {
      now = sha256Hex(readFileSync(file));
    } catch {
      return new FileError(
        file,
        `imported by the run's model file ${record.file}, is gone; restore it or start a new run`,
      );
    }
    if (now !== sha256) {
      return new FileError(
        file,
        `imported by the run's model file ${record.file}, ` +
          `edited since the run started (SHA-256 ${sha256.slice(0, 12)}..., now ${now.slice(0, 12)}...): ` +
          `the run would train another network; restore it or start a new run`,
      );
    }
  }
  return undefined;
}

/** The run folder's copy of a model file (`model.ts`). */
export const modelCopyName = (record: ModelRecord): string => `model${extname(record.file)}`;

/**
 * The model a run recorded: the built-in one, or its file, which must still hold the bytes it
 * had when the run started (an edited file would silently train something else).
 */
export async function recordedModel(
  record: ModelRecord | undefined,
  runDir: string,
  builtin?: BuiltinShape,
): Promise<ModelChoice> {
  if (!record) return builtinModel(builtin);
  const copy = join(runDir, modelCopyName(record));
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(record.file);
  } catch {
    // Restored where it was, the copy finds what it imports (the package, its helpers) as the original did; given as
    // --model where it is, a run folder outside the repository, it finds neither (no advice to do that).
    throw new FileError(
      record.file,
      `the run's model file is gone; the run keeps a copy: restore it where it was (cp ${copy} ${record.file}), ` +
        'where it finds what it imports',
    );
  }
  const now = sha256Hex(bytes);
  if (now !== record.sha256) {
    throw new FileError(
      record.file,
      `edited since the run started (SHA-256 ${record.sha256.slice(0, 12)}..., now ${now.slice(0, 12)}...); ` +
        `restore it (the run keeps a copy: ${copy}) or start a new run`,
    );
  }
  const changed = changedImport(record);
  if (changed) throw changed;
  return loadModelFile(record.file);
}

/** Refuses a --model given to a run that trains another one (compared by content, so a moved copy is fine). */
export function assertSameModel(given: ModelChoice, recorded: ModelRecord | undefined, what: string): void {
  if (given.record?.sha256 === recorded?.sha256) {
    const changed = recorded && changedImport(recorded);
    if (changed) throw changed;
    return;
  }
  throw new ExpectedError(
    `--model ${given.record?.file ?? ''}: ${what} trains ${modelLabel(recorded)}` +
      `${recorded ? ` (SHA-256 ${recorded.sha256.slice(0, 12)}...)` : ''}, not this model; start a new run to train it`,
  );
}

/**
 * `model`, starting from the weights in `file` (`--init`: a state dict as safetensors with
 * PyTorch's names, every entry with its shape, as load_state_dict(strict=True) wants), and the
 * record of that file. With `recorded` (a resumed run's), the file must still hold those bytes.
 */
export function withInitialWeights(
  model: ModelChoice,
  file: string,
  recorded?: ModelRecord,
): { model: ModelChoice; record: ModelRecord } {
  const path = resolve(file);
  const bytes = readFileOr(path, (problem) => new FileError(file, problem));
  const record = { file: path, sha256: sha256Hex(bytes) };
  if (recorded && recorded.sha256 !== record.sha256) {
    throw new FileError(
      file,
      `edited since the run started (SHA-256 ${recorded.sha256.slice(0, 12)}..., ` +
        `now ${record.sha256.slice(0, 12)}...): the run started from other weights`,
    );
  }
  // decodeModelState's errors name the file (as `source`).
  return { model: { ...model, net: model.net.withInitialState(decodeModelState(model.net, bytes, file)) }, record };
}
