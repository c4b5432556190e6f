/**
 * The model card: what an exported file is, how it was made, how well it does. It travels in
 * the .onnx's metadata_props (and beside it as .json, from the CLI). Pure: the library's
 * export makes one in a page too; model-card.node.ts adds what needs Node (git, hashes).
 */
import { channelStats, type Normalization } from '../data/normalize.js';
import type { Graph } from '../graph/builder.js';
import { minimumOpset } from '../graph/serialize.js';
import type { Network } from '../model/network.js';
import { architectureLines, summarize } from '../model/summary.js';
import type { TrainConfig } from '../train/core/config.js';
import type { Verification } from './verify-core.js';

export interface ModelCard {
  name: string;
  task: string;
  input: string;
  /** One example, [C, H, W]: what the draw page and predict feed. */
  input_shape: readonly number[];
  /** Outputs per example: [N, classes]. */
  classes: number;
  /** The classes' names by index, when the data had them. */
  class_names?: readonly string[];
  /** How a picture becomes the input (see Preprocess). */
  preprocess: Preprocess;
  outputs: string;
  normalization: string;
  /** Accuracy of the exported graph on the verification split, measured at export. */
  test_accuracy: number;
  test_correct: number;
  test_count: number;
  export_check: { max_probability_difference: number; different_predictions: number };
  parameters: number;
  /** One line per layer: `path: description -> [output shape] (parameters)`. */
  architecture: string[];
  /** The model file the run trained, and its SHA-256; absent for the built-in seed CNN and the library's trainers. */
  model_file?: { file: string; sha256: string };
  epochs: number;
  steps: number;
  training_recipe: TrainConfig;
  /** The checkpoint exported (the CLI's), or what made the model ("trained with the library"). */
  checkpoint: string;
  source_commit: string;
  date: string;
  opset: number;
}

/** The normalisation, in words: `(x - 0.1307) / 0.3081, applied inside the graph`. */
function normalizationText(n: Normalization): string {
  const channels = n.mean.length;
  const stats = (i: 0 | 1) =>
    channels === 1
      ? String(channelStats(n, 0)[i])
      : `[${Array.from({ length: channels }, (_, c) => channelStats(n, c)[i]).join(', ')}]`;
  return `(x - ${stats(0)}) / ${stats(1)}${channels > 1 ? ' per channel' : ''}, applied inside the graph`;
}

/**
 * How `predict` and the draw page turn a picture into the model's input:
 * - `digit`: MNIST-style (src/preprocess: the ink's bounding box fitted into 20x20, centred by
 *   its mass, white on black), for a 1x28x28 model of the ten digits;
 * - `resize`: the picture stretched to the input's height and width, grey or RGB, pixels in
 *   [0,1], as `--data` decodes a folder of images;
 * - `none`: the model was trained on float values, not pictures: nothing reads a picture for it.
 */
export type Preprocess = 'digit' | 'resize' | 'none';

const isDigits = (names: readonly string[] | undefined) =>
  names === undefined || (names.length === 10 && names.every((n, d) => n === String(d)));

/** The preprocessing that fits a model of `shape` trained on `data` (its images bytes or floats, its class names). */
export function preprocessFor(
  shape: readonly number[],
  data: { images: ArrayLike<number>; classNames?: readonly string[] },
): Preprocess {
  if (!(data.images instanceof Uint8Array)) return 'none';
  return shape.join() === '1,28,28' && isDigits(data.classNames) ? 'digit' : 'resize';
}

/** The input a model takes, in words. */
function inputConvention(shape: readonly number[], preprocess: Preprocess): string {
  const tensor = `image: float32 [N,${shape.join(',')}]`;
  if (preprocess === 'digit')
    return (
      `${tensor}, pixel values in [0,1], a white digit on black, ` +
      `MNIST-style (the ink's bounding box fitted into 20x20, centre of mass at the centre; see src/preprocess)`
    );
  if (preprocess === 'resize')
    return (
      `${tensor}, pixel values in [0,1], ` +
      `the picture stretched to ${shape[2]}x${shape[1]}${shape[0] === 3 ? ', RGB planes' : ', grey'}`
    );
  return `${tensor}, the data's own values (it was trained on floats, not pictures)`;
}

/** metadata_props hold strings: objects are stored as JSON. */
export function cardMetadata(card: ModelCard): Record<string, string> {
  return Object.fromEntries(Object.entries(card).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

function verificationFields(
  v: Verification,
): Pick<ModelCard, 'test_accuracy' | 'test_correct' | 'test_count' | 'export_check'> {
  return {
    test_accuracy: v.correct / v.count,
    test_correct: v.correct,
    test_count: v.count,
    export_check: { max_probability_difference: v.maxProbabilityDifference, different_predictions: v.disagreements },
  };
}

/** What a card records besides what the network and the check say. */
export interface CardSource {
  /** The recipe the model was trained with. */
  recipe: TrainConfig;
  epochs: number;
  steps: number;
  normalize: Normalization;
  classNames?: readonly string[];
  /** How pictures were made into the training data (preprocessFor). */
  preprocess: Preprocess;
  /** The checkpoint exported, or what made the model. */
  checkpoint: string;
  sourceCommit: string;
  modelFile?: ModelCard['model_file'];
  /** Names the task, e.g. "handwritten digit classification (MNIST, 10 classes)". */
  task?: string;
}

/** The card of `net`'s exported `graph`, checked as `verification` says. */
export function modelCard(net: Network, graph: Graph, verification: Verification, source: CardSource): ModelCard {
  const classes = verification.confusion.length || source.classNames?.length || 0;
  return {
    name: net.name,
    task: source.task ?? `classification (${classes} classes)`,
    input: inputConvention(net.inputShape, source.preprocess),
    input_shape: net.inputShape,
    classes,
    ...(source.classNames && { class_names: source.classNames }),
    preprocess: source.preprocess,
    outputs: `logits: float32 [N,${classes}]; probabilities: float32 [N,${classes}] (softmax of the logits)`,
    normalization: normalizationText(source.normalize),
    ...verificationFields(verification),
    parameters: net.parameterCount,
    architecture: architectureLines(summarize(net)),
    ...(source.modelFile && { model_file: source.modelFile }),
    epochs: source.epochs,
    steps: source.steps,
    training_recipe: source.recipe,
    checkpoint: source.checkpoint,
    source_commit: source.sourceCommit,
    date: new Date().toISOString(),
    opset: minimumOpset(graph),
  };
}
