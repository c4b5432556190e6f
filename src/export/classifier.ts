/** Loads an exported model and classifies preprocessed 28x28 inputs (the `predict` CLI's engine). */
import { readFileOr } from '../util/read-file.js';
import * as ort from 'onnxruntime-node';
import { SIDE } from '../preprocess/mnist-style.js';
import { INPUT, PROBABILITIES } from './inference.js';
import { FileError } from '../util/errors.js';

export class ModelError extends FileError {}

export interface Prediction {
  digit: number;
  probability: number;
  runnerUp: { digit: number; probability: number };
  probabilities: number[];
}

const EXPECTED = ['N', 1, SIDE, SIDE];

export class Classifier {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** Opens an exported model, checking it takes `image` [N,1,28,28] and gives `probabilities`. */
  static async load(file: string): Promise<Classifier> {
    const bytes = readFileOr(file, (problem) => new ModelError(file, problem), 'model file');
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes);
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
    return new Classifier(session);
  }

  /** One prediction per 28x28 input (values in [0,1]). */
  async classify(inputs: readonly Float32Array[]): Promise<Prediction[]> {
    if (inputs.length === 0) return [];
    const batch = new Float32Array(inputs.length * SIDE * SIDE);
    inputs.forEach((x, i) => batch.set(x, i * SIDE * SIDE));
    const out = await this.session.run({ [INPUT]: new ort.Tensor('float32', batch, [inputs.length, 1, SIDE, SIDE]) });
    const probs = out[PROBABILITIES].data as Float32Array;
    const classes = probs.length / inputs.length;
    return inputs.map((_, i) => {
      const p = Array.from(probs.subarray(i * classes, (i + 1) * classes));
      const order = p.map((_, d) => d).sort((a, b) => p[b] - p[a]);
      return { digit: order[0], probability: p[order[0]], runnerUp: { digit: order[1], probability: p[order[1]] }, probabilities: p };
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
