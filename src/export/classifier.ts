/** Loads an exported model and classifies preprocessed 28x28 inputs (the `predict` CLI's engine). */
import { readFileOr } from '../util/read-file.js';
import * as ort from 'onnxruntime-node';
import { SIDE } from '../preprocess/mnist-style.js';
import { INPUT, PROBABILITIES } from './model-io.js';
import { checkExternalData, inputElementType, ModelError, parseModelFile } from './model-file.js';

export { ModelError };

export interface Prediction {
  digit: number;
  probability: number;
  runnerUp: { digit: number; probability: number };
  probabilities: number[];
}

const EXPECTED = ['N', 1, SIDE, SIDE];
const PIXELS = SIDE * SIDE;

/** The first value that is not a finite number ('NaN', 'Infinity', '-Infinity'), if any. */
export function nonFinite(values: readonly number[]): string | undefined {
  const bad = values.find((v) => !Number.isFinite(v));
  return bad === undefined ? undefined : String(bad);
}

export class Classifier {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** The model's fixed batch size, or undefined when its batch dimension is free. */
    private readonly batchSize: number | undefined,
  ) {}

  /**
   * Opens an exported model, checking it takes float32 `image` [N,1,28,28] (N free or fixed)
   * and gives `probabilities`. The file is parsed first: external data is only read from a
   * file beside the model, and then the session is loaded from the model's path.
   */
  static async load(file: string): Promise<Classifier> {
    const bytes = readFileOr(file, (problem) => new ModelError(file, problem), 'model file');
    const proto = parseModelFile(file, bytes);
    const external = checkExternalData(file, proto);
    const type = inputElementType(proto, INPUT);
    if (type !== undefined && type !== 'float32') throw new ModelError(file, `the model's input ${INPUT} is ${type}, expected float32`);
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
    if (!session.outputNames.includes(PROBABILITIES)) throw new ModelError(file, `the model has no '${PROBABILITIES}' output`);
    return new Classifier(session, typeof shape[0] === 'number' ? shape[0] : undefined);
  }

  /**
   * One prediction per 28x28 input (values in [0,1]). A model with a fixed batch size runs
   * in chunks of that size, the last one padded with blank inputs whose outputs are dropped.
   * Probabilities are passed on as the model gives them, NaN included (see nonFinite).
   */
  async classify(inputs: readonly Float32Array[]): Promise<Prediction[]> {
    const predictions: Prediction[] = [];
    const chunk = this.batchSize ?? Math.max(1, inputs.length);
    for (let start = 0; start < inputs.length; start += chunk) {
      const part = inputs.slice(start, start + chunk);
      predictions.push(...(await this.run(part, this.batchSize ?? part.length)));
    }
    return predictions;
  }

  private async run(inputs: readonly Float32Array[], batch: number): Promise<Prediction[]> {
    const data = new Float32Array(batch * PIXELS);
    inputs.forEach((x, i) => data.set(x, i * PIXELS));
    const out = await this.session.run({ [INPUT]: new ort.Tensor('float32', data, [batch, 1, SIDE, SIDE]) });
    const probs = out[PROBABILITIES].data as Float32Array;
    const classes = probs.length / batch;
    return inputs.map((_, i) => toPrediction(Array.from(probs.subarray(i * classes, (i + 1) * classes))));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function toPrediction(p: number[]): Prediction {
  const order = p.map((_, d) => d).sort((a, b) => p[b] - p[a]);
  return { digit: order[0], probability: p[order[0]], runnerUp: { digit: order[1], probability: p[order[1]] }, probabilities: p };
}
