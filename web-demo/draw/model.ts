/**
 * The draw page's model: fetched from this site only (`?model=`, else the shipped mnist.onnx),
 * checked as `predict` checks one (src/export/classifier-check.ts: no control flow, a sane card
 * in its own metadata whose classes and input agree with the graph, a picture's input shape), and run with
 * onnxruntime-web, on WebGPU (each session's first run checked against WebAssembly) or on
 * WebAssembly. A tuned model (teaching) can stand in for the shipped one until Reset.
 */
import {
  answerProblem,
  cardClasses,
  cardClassNames,
  cardOf,
  cardPreprocess,
  declaredClasses,
  declaredInput,
  graphProblem,
  outputProblem,
  pictureShapeProblem,
} from '../../src/export/classifier-check.js';
import type { Preprocess } from '../../src/export/model-card.js';
import { INPUT, PROBABILITIES } from '../../src/export/model-io.js';
import { parseModel } from '../../src/graph/serialize.js';
import { SIDE } from '../../src/preprocess/mnist-style.js';
import type { InferenceSession } from '../../src/train/core/runtime.js';
import { CheckedSession, fallbackNote } from '../../src/web/checked-session.js';
import { type Backend, loadOrt, type Ort, openSession } from '../shared/backend.js';
import { messageOf } from '../../src/util/errors.js';
import { floatData } from '../../src/util/tensor-data.js';

/** A model that cannot be used here; the message names it and says why. */
export class ModelLoadError extends Error {}

/** What the page shows of a model, from the card in its metadata. */
export interface ModelCardInfo {
  classNames: readonly string[];
  /** One example, [C, H, W]. */
  inputShape: readonly number[];
  /** How a picture becomes the input: MNIST-style for a digit reader, else stretched. */
  preprocess: Exclude<Preprocess, 'none'>;
  name?: string;
  parameters?: number;
  testAccuracy?: number;
  epochs?: number;
}

/** The model's URL on this site: a `?model=` elsewhere would show someone else's model under this page's name. */
export function modelUrl(requested: string | null): string {
  const url = new URL(requested ?? 'mnist.onnx', location.href);
  if (url.origin !== location.origin)
    throw new ModelLoadError(`?model=${requested}: the page loads models from its own site only`);
  return url.href;
}

/** The card of a model's bytes, checked; a ModelLoadError naming `label` says what is wrong. */
export function checkedCard(bytes: Uint8Array, label: string): ModelCardInfo {
  let proto: ReturnType<typeof parseModel>;
  try {
    proto = parseModel(bytes);
  } catch (e) {
    throw new ModelLoadError(`${label} is not an ONNX model (${messageOf(e).split('\n')[0]})`);
  }
  const graph = graphProblem(proto);
  if (graph) throw new ModelLoadError(`${label}: ${graph}`);
  const card = cardOf(proto);
  const inputShape = Array.isArray(card.input_shape) ? card.input_shape : [1, SIDE, SIDE];
  const notPicture = pictureShapeProblem(inputShape);
  if (notPicture) throw new ModelLoadError(`${label}: its input, ${notPicture} (its card says)`);
  const graphInput = declaredInput(proto);
  if (graphInput && graphInput.join() !== inputShape.join()) {
    throw new ModelLoadError(
      `${label}: its ${INPUT} input is [${graphInput.join(',')}] per example; its card says [${inputShape.join(',')}]`,
    );
  }
  const classes = cardClasses(card);
  if ('problem' in classes) throw new ModelLoadError(`${label}: ${classes.problem}`);
  const declared = declaredClasses(proto);
  if (declared !== undefined && declared !== classes.classes) {
    throw new ModelLoadError(
      `${label}: its ${PROBABILITIES} output has ${declared} classes; its card says ${classes.classes}`,
    );
  }
  const named = cardClassNames(card, classes.classes);
  if ('problem' in named) throw new ModelLoadError(`${label}: ${named.problem}`);
  const how = cardPreprocess(card, inputShape);
  if ('problem' in how) throw new ModelLoadError(`${label}: ${how.problem}`);
  if (how.preprocess === 'none')
    throw new ModelLoadError(`${label} was trained on float values, not pictures: this page cannot make its input`);
  const number = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    classNames: named.names ?? Array.from({ length: classes.classes }, (_, d) => String(d)),
    inputShape: inputShape as number[],
    preprocess: how.preprocess,
    name: typeof card.name === 'string' ? card.name : undefined,
    parameters: number(card.parameters),
    testAccuracy: number(card.test_accuracy),
    epochs: number(card.epochs),
  };
}

export class PageModel {
  /** onnxruntime-web's build for the backend (one WebAssembly thread needs no cross-origin isolation). */
  private ort?: Ort;
  private session?: InferenceSession;
  /** The shipped model: its bytes and session; `session` may be a tuned model's. */
  private shipped?: { bytes: Uint8Array; session: InferenceSession };
  /** The tuned model's bytes while it is in use (null: the shipped model). */
  private tunedBytes: Uint8Array | null = null;

  constructor(
    /** What runs the models now: the choice, or WebAssembly once WebGPU disagreed with it. */
    public backend: Backend,
    private readonly classes: number,
    /** One example, [C, H, W]. */
    private readonly inputShape: readonly number[],
    /** Told when WebGPU disagreed with WebAssembly and the page fell back. */
    private readonly onFallback: (note: string) => void,
  ) {}

  /** The shipped model's bytes (teaching starts from them). */
  get shippedBytes(): Uint8Array | undefined {
    return this.shipped?.bytes;
  }

  /** Opens the shipped model on the backend and runs it once (see warmUp). */
  async load(bytes: Uint8Array): Promise<void> {
    this.ort = await loadOrt(this.backend, 1);
    const session = await this.sessionOf(bytes);
    this.shipped = { bytes, session };
    this.session = session;
    await this.warmUp();
  }

  /** Probabilities of one input, and how long the model took; an output of the wrong shape is a ModelLoadError. */
  async classify(input: Float32Array): Promise<{ probabilities: number[]; ms: number }> {
    const started = performance.now();
    if (!this.session) throw new Error('PageModel used before load');
    const ort = this.runtime();
    const feed = new ort.Tensor('float32', input, [1, ...this.inputShape]);
    const out = (await this.session.run({ [INPUT]: feed }))[PROBABILITIES];
    const problem = outputProblem(out.dims, 1, this.classes);
    if (problem) throw new ModelLoadError(`${problem}; the model does not answer as its card says`);
    return { probabilities: Array.from(floatData(out)), ms: performance.now() - started };
  }

  /**
   * A session of `bytes` on the backend that runs now. On WebGPU its first run is checked against
   * WebAssembly (src/web/checked-session.ts); if they disagree the page says so and stays on WebAssembly.
   */
  private sessionOf(bytes: Uint8Array): Promise<InferenceSession> {
    const ort = this.runtime();
    const open = (provider: Backend) => openSession(ort, bytes, provider);
    if (this.backend === 'wasm') return open('wasm');
    return CheckedSession.open(open, 1, (report) => {
      if (report.trusted) return;
      this.backend = 'wasm';
      this.onFallback(fallbackNote('inference', report));
    });
  }

  /** onnxruntime-web, loaded by load (or switchTo): before that, asking is a bug. */
  private runtime(): Ort {
    if (!this.ort) throw new Error('PageModel used before load');
    return this.ort;
  }

  /**
   * A first run on a fixed input: it compiles WebGPU's shaders and checks WebGPU, the output's
   * shape and its values (a model that answers NaN is broken) before anyone draws.
   */
  private async warmUp(): Promise<void> {
    const input = new Float32Array(this.inputShape.reduce((a, b) => a * b, 1));
    if (this.inputShape.join() === [1, SIDE, SIDE].join())
      for (let y = 6; y < 22; y++) for (let x = 13; x < 16; x++) input[y * SIDE + x] = 1; // a 1
    else input.fill(0.5);
    const problem = answerProblem((await this.classify(input)).probabilities);
    if (problem) throw new ModelLoadError(`${problem}; the model is broken`);
  }

  /** Predict with a tuned model's bytes, or the shipped model again (null). */
  async use(onnx: Uint8Array | null): Promise<void> {
    if (!this.shipped) return;
    const previous = this.session;
    this.session = onnx ? await this.sessionOf(onnx) : this.shipped.session;
    this.tunedBytes = onnx;
    if (previous && previous !== this.shipped.session) await previous.release();
  }

  /** Runs the models on `next` from now on: the shipped model's session (and a tuned one's) made again there. */
  async switchTo(next: Backend): Promise<void> {
    if (!this.shipped) return;
    this.ort = await loadOrt(next, 1);
    this.backend = next;
    const old = [this.shipped.session, this.session];
    this.shipped = { bytes: this.shipped.bytes, session: await this.sessionOf(this.shipped.bytes) };
    this.session = this.tunedBytes ? await this.sessionOf(this.tunedBytes) : this.shipped.session;
    for (const s of new Set(old)) await s?.release();
    await this.warmUp();
  }
}
