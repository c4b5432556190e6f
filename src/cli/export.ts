/**
 * `npm run export -- --checkpoint runs/<name> --out models/mine.onnx [--force]`: the inference-only
 * model (BatchNorm folded, no Dropout, normalisation inside), verified against the
 * checkpoint's evaluation graph on the whole test set before anything is written.
 * The output place is checked first, so a bad --out fails at once; the .onnx and its .json
 * card are written as a pair (the card, holding the .onnx's SHA-256, last).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { readRunData } from './data-choice.js';
import { inferenceModelBytes } from '../export/inference.js';
import {
  cardFileFor,
  cardFileText,
  cardMetadata,
  type ModelCard,
  modelCard,
  preprocessFor,
  sourceCommit,
} from '../export/model-card.node.js';
import { exportVerified } from '../export/verify.node.js';
import type { Network } from '../model/network.js';
import {
  type Checkpoint,
  checkpointDirs,
  evaluatedState,
  loadCheckpoint,
  loadNewestCheckpoint,
  readTrainerState,
} from '../train/checkpoint.js';
import type { BuiltinShape, ModelRecord, TrainConfig } from '../train/core/config.js';
import { normalizationOf } from '../train/core/recipe.js';
import { readRecord } from '../train/run-folder.js';
import { nodeRuntime } from '../train/node-runtime.js';
import { probeWritable, unwritableReason, writeError, writeFilesAtomic } from '../util/atomic.node.js';
import { FileError } from '../util/errors.js';
import { runCommand, UsageError, warnSkipped } from './errors.js';
import { assertSameModel, loadModelFile, recordedModel } from './training-model.js';
import { nonEmptyPath, parseCommand } from './parse.js';

const program = new Command('export')
  .description('Export a checkpoint as an inference-only ONNX model with a model card')
  .requiredOption('--checkpoint <path>', 'a run folder (its newest checkpoint) or one checkpoint folder', nonEmptyPath)
  .requiredOption('--out <file>', 'the .onnx file to write (a .json model card goes beside it)', nonEmptyPath)
  .option('--force', 'replace --out and its card if they exist (never without it)', false)
  .option(
    '--data <path>',
    "the data to verify on, where it is no longer where the run recorded it (default: the run's own)",
    nonEmptyPath,
  )
  .addOption(new Option('--data-dir <dir>', 'the same as --data').argParser(nonEmptyPath).hideHelp())
  .option(
    '--model <file>',
    "the run's model file (.ts or .onnx), " +
      'where it is no longer where the run recorded it (it must hold the same bytes)',
    nonEmptyPath,
  );

/**
 * Fails fast, before the checkpoint is read, when the files could not be written, or exist and `force` was not given.
 */
function checkOutputs(files: readonly string[], force: boolean): void {
  for (const file of files) {
    const why = unwritableReason(file);
    if (why) throw new FileError(file, `cannot write: ${why}`);
    if (!force && existsSync(file))
      throw new FileError(
        file,
        'exists: export replaces a file only with --force (choose another --out, or pass --force)',
      );
  }
  if (existsSync(dirname(files[0]))) probeWritable(files[0]);
}

/** Writes the pair; a folder created for it is removed again if writing fails. */
function writePair(files: readonly (readonly [string, string | Uint8Array])[]): void {
  const dir = dirname(files[0][0]);
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true });
    writeFilesAtomic(files);
  } catch (e) {
    if (created) rmSync(created, { recursive: true, force: true });
    throw writeError(files[0][0], e);
  }
}

/**
 * One checkpoint folder is used as it is (and refused if it fails its checks); a run folder
 * gives its newest good checkpoint, as --resume does, saying which newer ones it passed over.
 */
function loadForExport(path: string, net: Network): Checkpoint {
  if (existsSync(join(path, 'trainer.json'))) return loadCheckpoint(path, net);
  const checkpoint = loadNewestCheckpoint(path, net, warnSkipped);
  if (checkpoint) return checkpoint;
  throw new UsageError(`${path}: neither a checkpoint nor a run folder with checkpoints`);
}

/**
 * The model a checkpoint (or a run folder's checkpoints) trained, as recorded
 * (a file, or the built-in's shape), and the run folder that keeps its copy.
 */
function recordedAt(path: string): {
  record: ModelRecord | undefined;
  builtin: BuiltinShape | undefined;
  runDir: string;
} {
  const of = (config: TrainConfig | undefined) => ({ record: config?.model, builtin: config?.builtin });
  if (existsSync(join(path, 'trainer.json')))
    return { ...of(readTrainerState(path).config), runDir: dirname(dirname(path)) };
  const newest = checkpointDirs(path).find((dir) => existsSync(join(dir, 'trainer.json')));
  const config = existsSync(join(path, 'run.json'))
    ? readRecord(path)?.config
    : newest
      ? readTrainerState(newest).config
      : undefined;
  return { ...of(config), runDir: path };
}

/**
 * A data set's name from its path: the folder's (`fashion-mnist`),
 * or a file's without its extension (`train.csv` names its folder).
 */
function dataName(path: string): string {
  const file = basename(path).replace(/\.[^.]*$/, '');
  return (extname(path) && /^(train|data_batch_\d+)$/i.test(file) ? basename(dirname(path)) : file)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-');
}

runCommand(async () => {
  const o = parseCommand(program).opts<{
    checkpoint: string;
    out: string;
    force: boolean;
    data?: string;
    dataDir?: string;
    model?: string;
  }>();
  if (!o.out.endsWith('.onnx')) throw new UsageError(`--out ${o.out}: the file name must end in .onnx`);
  const cardFile = cardFileFor(o.out);
  checkOutputs([o.out, cardFile], o.force);
  const { record, runDir, builtin } = recordedAt(o.checkpoint);
  const model = o.model === undefined ? await recordedModel(record, runDir, builtin) : await loadModelFile(o.model);
  if (o.model !== undefined) assertSameModel(model, record, o.checkpoint);
  const checkpoint = loadForExport(o.checkpoint, model.net);
  const net = model.net.withLoss(checkpoint.trainer.config.loss); // the output read as the run read it
  const { dir } = checkpoint;
  const state = evaluatedState(checkpoint); // the weights the run's test accuracy was measured on

  const recipe = checkpoint.trainer.config;
  const given = o.data ?? o.dataDir;
  const { test } = await readRunData(
    { ...recipe, ...(given !== undefined && { dataDir: resolve(given) }) },
    net.inputShape,
  );
  console.log(`verifying ${dir} exported against its evaluation graph on ${test.count} test images...`);
  const normalize = normalizationOf(checkpoint.trainer.config);
  const { graph, verification } = await exportVerified(nodeRuntime(), net, state, test, normalize);

  const card: ModelCard = {
    ...modelCard(net, graph, verification, {
      recipe: checkpoint.trainer.config,
      epochs: checkpoint.trainer.metrics.at(-1)?.epoch ?? 0,
      steps: checkpoint.trainer.position.step,
      normalize,
      checkpoint: dir,
      sourceCommit: sourceCommit(),
      // The file's name only: a card is published with its model, a path on this machine is not.
      modelFile: model.record && { file: basename(model.record.file), sha256: model.record.sha256 },
      classNames: test.classNames,
      preprocess: preprocessFor(net.inputShape, test),
      ...(recipe.dataDir === undefined && {
        task: `handwritten digit classification (MNIST, ${model.classes} classes)`,
      }),
    }),
    name: `${net.name}-${recipe.dataDir === undefined ? 'mnist' : dataName(recipe.dataDir)}`,
  };
  const onnx = inferenceModelBytes(graph, cardMetadata(card));
  writePair([
    [o.out, onnx],
    [cardFile, cardFileText(card, onnx)],
  ]);
  console.log(
    `wrote ${o.out} (opset ${card.opset}) and ${cardFile}: test accuracy ${(100 * card.test_accuracy).toFixed(2)}% ` +
      `(${card.test_correct}/${card.test_count}), max probability difference to the evaluation graph ` +
      `${verification.maxProbabilityDifference.toExponential(2)}, ${verification.disagreements} different predictions`,
  );
});
