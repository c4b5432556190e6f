/**
 * The browser demo: draw a digit (mouse, touch or pen) or drop an image, and the exported
 * model classifies it with onnxruntime-web, on WebGPU where the browser has it (checked against
 * WebAssembly on a first digit before it is trusted) or on WebAssembly. The 28x28 input comes
 * from src/preprocess, the very code the `predict` CLI uses. The page's parts: the pad
 * (pad.ts), the answer (result.ts), the model (model.ts), teaching (teach.ts).
 */
import { BlankImageError, mnistInput, type RgbaImage } from '../../src/preprocess/mnist-style.js';
import { stretchedInput } from '../../src/preprocess/stretch.js';
import type { Backend } from '../shared/backend.js';
import { setUpBackendChoice, showBackend } from '../shared/backend-choice.js';
import { byTestId, statusLine } from '../shared/dom.js';
import { demoHook, installDemoHooks } from '../shared/test-hooks.js';
import { checkedCard, type ModelCardInfo, ModelLoadError, modelUrl, PageModel } from './model.js';
import { DrawingPad } from './pad.js';
import { ResultView } from './result.js';
import { setUpTeaching } from './teach.js';
import { messageOf } from '../../src/util/errors.js';

const setStatus = statusLine(byTestId('status'));
const result = new ResultView();
let model: PageModel | undefined;
/** The model's card, checked (its classes, input shape and preprocessing). */
let card: ModelCardInfo | undefined;
/** The input of what is on the pad now (null when blank). */
let currentInput: Float32Array | null = null;

/** Shows an answer, or says why there is none (a broken model's NaN is no answer). */
function show(probabilities: number[] | null, ms?: number): void {
  const problem = result.show(probabilities, ms);
  if (problem) setStatus(`error: ${problem}; the model is broken`, true);
}

/** Classifies a picture; returns why there is no answer (no digit in it), or undefined. */
async function read(image: RgbaImage): Promise<string | undefined> {
  if (!model) {
    show(null); // no model to ask (its load was refused): the answer stays empty
    return undefined;
  }
  try {
    currentInput = card?.preprocess === 'resize' ? stretchedInput(image, card.inputShape) : mnistInput(image);
  } catch (e) {
    if (!(e instanceof BlankImageError)) throw e;
    currentInput = null;
    show(null);
    return e.message;
  }
  const input = currentInput;
  demoHook((h) => {
    h.lastInput = Array.from(input);
  });
  result.showInput(input, card?.inputShape ?? [1, 28, 28]);
  const { probabilities, ms } = await model.classify(input);
  show(probabilities, ms);
  return undefined;
}

/** Shows what the model now in use makes of what is drawn (nothing when the pad is blank). */
async function readAgain(): Promise<void> {
  if (!currentInput || !model) return;
  const { probabilities, ms } = await model.classify(currentInput);
  show(probabilities, ms);
}

const pad = new DrawingPad({
  read,
  cleared() {
    currentInput = null;
    show(null);
  },
  opened: setStatus,
});

installDemoHooks(async (input) => {
  if (!model) throw new Error('no model: its load was refused or has not ended');
  return (await model.classify(input)).probabilities;
});

async function switchBackend(next: Backend): Promise<void> {
  if (!model) return;
  setStatus(`loading onnxruntime-web for ${next}…`);
  await model.switchTo(next);
  showBackend(byTestId('backend'), model.backend);
  await readAgain();
  setStatus('ready');
}

setUpTeaching({
  backend: () => model?.backend ?? 'wasm',
  currentInput: () => currentInput,
  shippedModel: () => model?.shippedBytes,
  async useModel(onnx) {
    await model?.use(onnx);
    await readAgain();
  },
  clearDrawing: () => pad.clear(),
});

/**
 * A model that is not a digit reader: the page says what it reads and how it sees a picture,
 * and teaching (which teaches digits) is not offered.
 */
function showReader(card: ModelCardInfo): void {
  if (card.preprocess === 'digit') return;
  const [channels, height, width] = card.inputShape;
  const names = card.classNames.slice(0, 12).join(', ') + (card.classNames.length > 12 ? ', …' : '');
  byTestId('title').textContent = 'Draw or open a picture';
  const reads = byTestId('reads');
  reads.textContent =
    `This model reads pictures of its ${card.classNames.length} classes (${names}), not digits: ` +
    `what you draw or open is stretched to ${width}x${height}${channels === 3 ? ' in colour' : ' in grey'}, ` +
    `as its training images were.`;
  reads.hidden = false;
  byTestId('teach').hidden = true;
}

/** The card's line under the answer, and the subtitle's size of the network. */
function showCard(card: ModelCardInfo): void {
  if (card.parameters !== undefined)
    byTestId('subtitle-size').textContent = `${card.parameters.toLocaleString('en-US')}-parameter `;
  if (card.testAccuracy === undefined) return;
  const name = card.name && card.name !== 'seed-cnn-mnist' ? `${card.name}, ` : '';
  byTestId('model-card').textContent =
    `Model: ${name}${(card.parameters ?? 0).toLocaleString('en-US')} parameters, ` +
    `${(100 * card.testAccuracy).toFixed(2)}% on its test set (${card.epochs} epochs).`;
}

/** The model's bytes and card, checked; a ModelLoadError says why not. */
async function fetchModel(): Promise<{ bytes: Uint8Array; card: ModelCardInfo; label: string }> {
  const requested = new URLSearchParams(location.search).get('model');
  const url = modelUrl(requested);
  const label = requested ?? 'mnist.onnx';
  let bytes: Uint8Array;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new ModelLoadError(`could not load the model ${label} (${messageOf(e)})`);
  }
  return { bytes, card: checkedCard(bytes, label), label };
}

async function start(): Promise<void> {
  pad.clear();
  const choice = await setUpBackendChoice(
    byTestId<HTMLSelectElement>('backend-choice'),
    (next) => void switchBackend(next),
  );
  showBackend(byTestId('backend'), choice.chosen);
  try {
    const fetched = await fetchModel();
    const { bytes, label } = fetched;
    card = fetched.card;
    result.setClasses(card.classNames);
    model = new PageModel(choice.chosen, card.classNames.length, card.inputShape, (note) =>
      showBackend(byTestId('backend'), 'wasm', note),
    );
    try {
      await model.load(bytes);
    } catch (e) {
      throw new ModelLoadError(
        e instanceof ModelLoadError
          ? `${label}: ${e.message}`
          : `onnxruntime-web could not start the model (${messageOf(e)})`,
      );
    }
    showCard(card);
    showReader(card);
    setStatus('ready');
  } catch (e) {
    model = undefined;
    card = undefined;
    if (!(e instanceof ModelLoadError)) throw e;
    setStatus(`error: ${e.message}`, true);
  }
}

void start();
