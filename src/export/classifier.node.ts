/** Loads an exported model and classifies preprocessed 28x28 inputs (the `predict` CLI's engine). */
import { readFileOr } from '../util/read-file.node.js';
import * as ort from '../util/ort.node.js';
import { SIDE } from '../preprocess/mnist-style.js';
import { cardClasses, cardOf, graphProblem, outputProblem } from './classifier-check.js';
import { INPUT, PROBABILITIES } from './model-io.js';
import { checkExternalData, inputElementType, ModelError, parseModelFile } from './model-file.node.js';

export { ModelError };
export { answerProblem, nonFinite, notProbabilities } from './classifier-check.js';

export interface Prediction {
  digit: number;
  probability: number;
  runnerUp: { digit: number; probability: number };
  probabilities: number[];
}

const EXPECTED = ['N', 1, SIDE, SIDE];
/** Images per run for a model whose batch size is free: the memory of one run stays bounded. */
const CHUNK = 256;
const PIXELS = SIDE * SIDE;

export class Classifier {
  private constructor(
    private readonly file: string,
    private readonly session: ort.InferenceSession,
    /** The model's fixed batch size, or undefined when its batch dimension is free. */
    private readonly batchSize: number | undefined,
    /** Probabilities per image: the model card's classes. */
    readonly classes: number,
  ) {}

  /**
   * Opens an exported model, checking it takes exactly one input, float32 `image`
   * [N,1,28,28] (N free or fixed), and gives float32 `probabilities`. The file is parsed
   * first: external data is only read from a file beside the model, and then the session is
   * loaded from the model's path. The number of classes is the card's (`classes` in the
   * model's metadata), or 10 for a card without it.
   */
  static async load(file: string): Promise<Classifier> {
    const bytes = readFileOr(file, (problem) => new ModelError(file, problem), 'model file');
    const proto = parseModelFile(file, bytes);
    const external = checkExternalData(file, proto);
    const type = inputElementType(proto, INPUT);
    if (type !== undefined && type !== 'float32') throw new ModelError(file, `the model's input ${INPUT} is ${type}, expected float32`);
    const graph = graphProblem(proto);
    if (graph) throw new ModelError(file, graph);
    const fromCard = cardClasses(cardOf(proto));
    if ('problem' in fromCard) throw new ModelError(file, fromCard.problem);
    const { classes } = fromCard;
    let session: ort.InferenceSession;
    try {
      // Fatal messages only: the reason goes into our one-line error, not onto stderr too.
      const options: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4 };
      session = await (external ? ort.InferenceSession.create(file, options) : ort.InferenceSession.create(bytes, options));
    } catch (e) {
      throw new ModelError(file, `not a loadable ONNX model (${(e as Error).message.split('\n')[0]})`);
    }
    const input = session.inputMetadata.find((m) => m.name === INPUT) ?? session.inputMetadata[0];
    const shape = input && 'shape' in input ? input.shape : [];
    const fits = shape.length === 4 && shape.every((d, i) => (i === 0 ? typeof d !== 'number' || d > 0 : d === EXPECTED[i]));
    if (!input || input.name !== INPUT || !fits) {
      throw new ModelError(file, `the model's input is ${input?.name ?? 'missing'} [${shape.join(',')}], expected ${INPUT} [N,1,28,28]`);
    }
    if (session.inputNames.length > 1) {
      throw new ModelError(file, `the model takes ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); predict feeds only ${INPUT}`);
    }
    const output = session.outputMetadata.find((m) => m.name === PROBABILITIES);
    if (!output) throw new ModelError(file, `the model has no '${PROBABILITIES}' output`);
    if (output.isTensor && output.type !== 'float32') throw new ModelError(file, `the model's output ${PROBABILITIES} is ${output.type}, expected float32`);
    return new Classifier(file, session, typeof shape[0] === 'number' ? shape[0] : undefined, classes);
  }

  /**
   * One prediction per 28x28 input (values in [0,1]). A model with a fixed batch size runs
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
    const data = new Float32Array(batch * PIXELS);
    for (const [i, x] of inputs.entries()) data.set(x, i * PIXELS);
    const out = (await this.session.run({ [INPUT]: new ort.Tensor('float32', data, [batch, 1, SIDE, SIDE]) }))[PROBABILITIES];
    const problem = outputProblem(out.dims, batch, this.classes);
    if (problem) throw new ModelError(this.file, `${problem}; the model does not answer as its card says`);
    const probs = out.data as Float32Array;
    return inputs.map((_, i) => toPrediction(Array.from(probs.subarray(i * this.classes, (i + 1) * this.classes))));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function toPrediction(p: number[]): Prediction {
  const order = p.map((_, d) => d).sort((a, b) => p[b] - p[a]);
  return { digit: order[0], probability: p[order[0]], runnerUp: { digit: order[1], probability: p[order[1]] }, probabilities: p };
}
