/**
 * Loads an exported model and classifies inputs made from pictures (the `predict` CLI's
 * engine): any [C, H, W] of one or three channels, the card's class names and preprocessing.
 */
import { readFileOr } from '../util/read-file.node.js';
import * as ort from '../util/ort.node.js';
import {
  cardClasses,
  cardClassNames,
  cardOf,
  cardPreprocess,
  graphProblem,
  outputProblem,
  pictureShapeProblem,
} from './classifier-check.js';
import type { Preprocess } from './model-card.js';
import { INPUT, PROBABILITIES } from './model-io.js';
import { checkExternalData, inputElementType, OnnxFileError, parseModelFile } from './onnx-file.node.js';
import { messageOf } from '../util/errors.js';
import { floatData } from '../util/tensor-data.js';

export { OnnxFileError };
export { answerProblem, nonFinite, notProbabilities } from './classifier-check.js';

/** A class by index, and by name when the card names the classes. */
export interface ClassAnswer {
  label: number;
  name?: string;
  probability: number;
}

export interface Prediction extends ClassAnswer {
  runnerUp: ClassAnswer;
  probabilities: number[];
}

/** Images per run for a model whose batch size is free: the memory of one run stays bounded. */
const CHUNK = 256;

/** The most one run's input may take: a fixed batch of 2^28 images asked for an array of 840 GB (a stack trace). */
const MAX_RUN_BYTES = 2 ** 30;

/** Why a model's fixed batch is too large to feed, or undefined. */
function fixedBatchProblem(batch: unknown, example: readonly unknown[]): string | undefined {
  if (typeof batch !== 'number') return undefined;
  const bytes = 4 * batch * example.reduce<number>((n, d) => n * (typeof d === 'number' ? d : 1), 1);
  if (bytes <= MAX_RUN_BYTES) return undefined;
  return (
    `its input fixes the batch at ${batch} images (${(bytes / 1e9).toPrecision(3)} GB a run), more than ` +
    `predict feeds at once (${MAX_RUN_BYTES / 2 ** 30} GiB): export it with a free batch dimension`
  );
}

/** An onnxruntime session of the model (its path where it has external data), or a one-line error. */
async function openSession(file: string, model: string | Uint8Array): Promise<ort.InferenceSession> {
  try {
    // Fatal messages only: the reason goes into our one-line error, not onto stderr too.
    const options: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4 };
    return await (typeof model === 'string'
      ? ort.InferenceSession.create(model, options)
      : ort.InferenceSession.create(model, options));
  } catch (e) {
    throw new OnnxFileError(file, `not a loadable ONNX model (${messageOf(e).split('\n')[0]})`);
  }
}

export class Classifier {
  private constructor(
    private readonly file: string,
    private readonly session: ort.InferenceSession,
    /** The model's fixed batch size, or undefined when its batch dimension is free. */
    private readonly batchSize: number | undefined,
    /** Probabilities per image: the model card's classes. */
    readonly classes: number,
    /** One example, [C, H, W]. */
    readonly inputShape: readonly number[],
    /** How a picture becomes an input (the card's `preprocess`). */
    readonly preprocess: Preprocess,
    /** The card's class names, if it has them. */
    readonly classNames: readonly string[] | undefined,
  ) {}

  /**
   * Opens an exported model, checking it takes exactly one input, float32 `image` [N,C,H,W]
   * (N free or fixed; C 1 or 3; H and W fixed), and gives float32 `probabilities`. The file is
   * parsed first: external data is only read from a file beside the model, and then the session
   * is loaded from the model's path. The classes, their names and the preprocessing are the
   * card's (in the model's metadata): a card without them means the ten digits, MNIST-style.
   */
  static async load(file: string): Promise<Classifier> {
    const bytes = readFileOr(file, (problem) => new OnnxFileError(file, problem), 'model file');
    const proto = parseModelFile(file, bytes);
    const external = checkExternalData(file, proto);
    const type = inputElementType(proto, INPUT);
    if (type !== undefined && type !== 'float32')
      throw new OnnxFileError(file, `the model's input ${INPUT} is ${type}, expected float32`);
    const graph = graphProblem(proto);
    if (graph) throw new OnnxFileError(file, graph);
    const card = cardOf(proto);
    const fromCard = cardClasses(card);
    if ('problem' in fromCard) throw new OnnxFileError(file, fromCard.problem);
    const { classes } = fromCard;
    const session = await openSession(file, external ? file : bytes);
    const input = session.inputMetadata.find((m) => m.name === INPUT) ?? session.inputMetadata[0];
    const shape = input && 'shape' in input ? input.shape : [];
    const batch = shape[0];
    const example = shape.slice(1);
    if (
      !input ||
      input.name !== INPUT ||
      shape.length !== 4 ||
      (typeof batch === 'number' && batch < 1) ||
      pictureShapeProblem(example)
    ) {
      throw new OnnxFileError(
        file,
        `the model's input is ${input?.name ?? 'missing'} [${shape.join(',')}], ` +
          `expected ${INPUT} [N,C,H,W] with C 1 or 3`,
      );
    }
    const tooLarge = fixedBatchProblem(batch, example);
    if (tooLarge) throw new OnnxFileError(file, tooLarge);
    if (session.inputNames.length > 1) {
      throw new OnnxFileError(
        file,
        `the model takes ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); ` +
          `predict feeds only ${INPUT}`,
      );
    }
    const output = session.outputMetadata.find((m) => m.name === PROBABILITIES);
    if (!output) throw new OnnxFileError(file, `the model has no '${PROBABILITIES}' output`);
    if (output.isTensor && output.type !== 'float32')
      throw new OnnxFileError(file, `the model's output ${PROBABILITIES} is ${output.type}, expected float32`);
    const named = cardClassNames(card, classes);
    if ('problem' in named) throw new OnnxFileError(file, named.problem);
    const how = cardPreprocess(card, example);
    if ('problem' in how) throw new OnnxFileError(file, how.problem);
    return new Classifier(
      file,
      session,
      typeof batch === 'number' ? batch : undefined,
      classes,
      example as number[],
      how.preprocess,
      named.names,
    );
  }

  /**
   * One prediction per input (an example of inputShape, values in [0,1]). A model with a fixed batch size runs
   * in chunks of that size, the last one padded with blank inputs whose outputs are dropped;
   * one with a free batch size in chunks of CHUNK, so that 12,000 pictures do not make one
   * 12,000-image batch (3.2 GB). Probabilities are passed on as the model gives them, NaN
   * included (see nonFinite).
   */
  async classify(inputs: readonly Float32Array[]): Promise<Prediction[]> {
    const predictions: Prediction[] = [];
    const chunk = this.batchSize ?? CHUNK;
    for (let start = 0; start < inputs.length; start += chunk) {
      const part = inputs.slice(start, start + chunk);
      predictions.push(...(await this.run(part, this.batchSize ?? part.length)));
    }
    return predictions;
  }

  private async run(inputs: readonly Float32Array[], batch: number): Promise<Prediction[]> {
    const size = this.inputShape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(batch * size);
    for (const [i, x] of inputs.entries()) data.set(x, i * size);
    const out = (await this.session.run({ [INPUT]: new ort.Tensor('float32', data, [batch, ...this.inputShape]) }))[
      PROBABILITIES
    ];
    const problem = outputProblem(out.dims, batch, this.classes);
    if (problem) throw new OnnxFileError(this.file, `${problem}; the model does not answer as its card says`);
    const probs = floatData(out);
    return inputs.map((_, i) => this.prediction(Array.from(probs.subarray(i * this.classes, (i + 1) * this.classes))));
  }

  private prediction(p: number[]): Prediction {
    const order = p.map((_, k) => k).sort((a, b) => p[b] - p[a]);
    const answer = (label: number): ClassAnswer => ({
      label,
      ...(this.classNames && { name: this.classNames[label] }),
      probability: p[label],
    });
    return { ...answer(order[0]), runnerUp: answer(order[1]), probabilities: p };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
