/**
 * The browser demo: draw a digit (mouse, touch or pen) or drop an image, and the exported
 * model classifies it with onnxruntime-web, on WebGPU where the browser has it (checked against
 * WebAssembly on a first digit before it is trusted) or on WebAssembly. The 28x28 input comes
 * from src/preprocess, the very code the `predict` CLI uses. Below, the user can teach the model
 * their own handwriting (teach.ts).
 */
import { INPUT, PROBABILITIES } from '../../src/export/model-io.js';
import { BlankImageError, MAX_IMAGE_PIXELS, mnistInput, type RgbaImage, SIDE } from '../../src/preprocess/mnist-style.js';
import { argmax } from '../../src/util/argmax.js';
import { type Backend, loadOrt, type Ort, openSession } from '../shared/backend.js';
import { setUpBackendChoice, showBackend } from '../shared/backend-choice.js';
import { CheckedSession, fallbackNote } from '../../src/web/checked-session.js';
import { byTestId, paintInput } from '../shared/dom.js';
import type { InferenceSession } from '../../src/train/core/runtime.js';
import { demoHook, installDemoHooks } from '../shared/test-hooks.js';
import { setUpTeaching } from './teach.js';

const PEN_WIDTH = 20;
const THROTTLE_MS = 80;
/** The longest side an opened image is read at (see openImage). */
const OPEN_SIDE = 1024;
const params = new URLSearchParams(location.search);
const MODEL_URL = params.get('model') ?? 'mnist.onnx';

const $ = byTestId;
const canvas = $<HTMLCanvasElement>('canvas');
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
const preview = $<HTMLCanvasElement>('input-preview');
const status = $('status');
const prediction = $('prediction');
const confidence = $('confidence');
const latency = $('latency');
const bars = $('probabilities');

/** onnxruntime-web's build for `backend` (one WebAssembly thread needs no cross-origin isolation). */
let ort: Ort | undefined;
/** What runs the models now: the choice, or WebAssembly once WebGPU disagreed with it. */
let backend: Backend = 'wasm';
let session: InferenceSession | undefined;
/** The shipped model: its bytes and session; `session` may be a tuned model's. */
let shipped: { bytes: Uint8Array; session: InferenceSession } | undefined;
/** The tuned model's bytes while it is in use (null: the shipped model). */
let tunedBytes: Uint8Array | null = null;
/** The input of what is on the canvas now (null when blank). */
let currentInput: Float32Array | null = null;

function setStatus(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
}

function clearCanvas(): void {
  currentInput = null;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  showResult(null);
}

/** One bar per class; the model card says how many (10 for MNIST, and before cards said). */
let rows: HTMLLIElement[] = [];
function showClasses(classes: number): void {
  bars.replaceChildren();
  rows = Array.from({ length: classes }, (_, d) => {
    const li = document.createElement('li');
    li.dataset.digit = String(d);
    li.innerHTML = `<span>${d}</span><span class="bar"><span class="fill"></span></span><span class="pct">–</span>`;
    bars.append(li);
    return li;
  });
}
showClasses(10);

function showResult(probabilities: number[] | null, ms?: number): void {
  demoHook((h) => {
    h.shown++;
    h.lastProbabilities = probabilities;
  });
  const best = probabilities ? argmax(probabilities) : -1;
  prediction.textContent = probabilities ? String(best) : '–';
  confidence.textContent = probabilities ? `${(100 * probabilities[best]).toFixed(1)}% sure` : '\u00a0';
  latency.textContent = ms === undefined ? '–' : `${ms.toFixed(2)} ms`;
  rows.forEach((li, d) => {
    const p = probabilities?.[d] ?? 0;
    (li.querySelector('.fill') as HTMLElement).style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector('.pct')!.textContent = probabilities ? `${(100 * p).toFixed(1)}%` : '–';
    li.classList.toggle('best', d === best);
  });
  if (!probabilities) preview.getContext('2d')!.clearRect(0, 0, SIDE, SIDE);
}

async function classify(input: Float32Array): Promise<{ probabilities: number[]; ms: number }> {
  const started = performance.now();
  const out = await session!.run({ [INPUT]: new ort!.Tensor('float32', input, [1, 1, SIDE, SIDE]) });
  const probabilities = Array.from(out[PROBABILITIES].data as Float32Array);
  return { probabilities, ms: performance.now() - started };
}

/** Preprocesses a picture and shows what the model makes of it. */
/** Classifies a picture; returns why there is no answer (no digit in it), or undefined. */
async function predictFrom(image: RgbaImage): Promise<string | undefined> {
  if (!session) return undefined;
  let input: Float32Array;
  try {
    input = mnistInput(image);
  } catch (e) {
    if (e instanceof BlankImageError) {
      currentInput = null;
      showResult(null);
      return e.message;
    }
    throw e;
  }
  currentInput = input;
  demoHook((h) => {
    h.lastInput = Array.from(input);
  });
  paintInput(preview, input);
  const { probabilities, ms } = await classify(input);
  showResult(probabilities, ms);
  return undefined;
}

// Live prediction while drawing, at most every THROTTLE_MS, and always once a stroke ends.
let busy = false;
let pending = false;
let lastRun = 0;
async function predictCanvas(force = false): Promise<void> {
  if (busy) {
    pending = true;
    return;
  }
  if (!force && performance.now() - lastRun < THROTTLE_MS) {
    pending = true;
    return;
  }
  busy = true;
  pending = false;
  lastRun = performance.now();
  try {
    await predictFrom(ctx.getImageData(0, 0, canvas.width, canvas.height));
  } finally {
    busy = false;
    if (pending) void predictCanvas(true);
  }
}

function point(e: PointerEvent): [number, number] {
  const r = canvas.getBoundingClientRect();
  return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
}

let drawing: [number, number] | null = null;
canvas.addEventListener('pointerdown', (e) => {
  canvas.setPointerCapture(e.pointerId);
  drawing = point(e);
  ctx.fillStyle = '#000';
  ctx.beginPath();
  ctx.arc(drawing[0], drawing[1], PEN_WIDTH / 2, 0, 2 * Math.PI);
  ctx.fill();
  void predictCanvas();
});
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const to = point(e);
  ctx.strokeStyle = '#000';
  ctx.lineWidth = PEN_WIDTH;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(...drawing);
  ctx.lineTo(...to);
  ctx.stroke();
  drawing = to;
  void predictCanvas();
});
const endStroke = () => {
  if (!drawing) return;
  drawing = null;
  void predictCanvas(true);
};
canvas.addEventListener('pointerup', endStroke);
canvas.addEventListener('pointercancel', endStroke);

$('clear').addEventListener('click', clearCanvas);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') clearCanvas();
});

/**
 * An image file: drawn onto the canvas to show it, and classified. A phone photo's EXIF
 * orientation is applied ('from-image', the spec's default, asked for explicitly because older
 * browsers ignored the tag), so an upright 6 stored upside down is not read 9. A large picture
 * is read at OPEN_SIDE pixels a side at most: a digit needs far less, and canvases have size
 * limits (a 100000x3 picture would give no canvas at all).
 */
async function openImage(file: File): Promise<void> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    setStatus(`error: ${file.name} is not an image this browser can read`, true);
    return;
  }
  const { width, height } = bitmap;
  if (width * height > MAX_IMAGE_PIXELS) {
    setStatus(`error: ${file.name} is ${width}x${height} pixels, more than the page reads (${MAX_IMAGE_PIXELS / 1e6} megapixels)`, true);
    return;
  }
  const scale = Math.min(1, OPEN_SIDE / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const fitted = scale < 1 ? await createImageBitmap(bitmap, { resizeWidth: w, resizeHeight: h, resizeQuality: 'high' }) : bitmap;
  const full = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true });
  if (!full) {
    setStatus(`error: ${file.name} (${width}x${height} pixels) cannot be drawn in this browser`, true);
    return;
  }
  full.drawImage(fitted, 0, 0);
  const pixels = full.getImageData(0, 0, w, h);
  clearCanvas();
  const shown = Math.min(canvas.width / w, canvas.height / h);
  ctx.drawImage(fitted, (canvas.width - w * shown) / 2, (canvas.height - h * shown) / 2, w * shown, h * shown);
  const noAnswer = await predictFrom(pixels);
  // A drawing in progress may be blank; an opened file with nothing to read says so.
  setStatus(noAnswer ? `${file.name} (${width}x${height} pixels): ${noAnswer}` : 'ready', noAnswer !== undefined);
}

canvas.addEventListener('dragover', (e) => {
  e.preventDefault();
  canvas.classList.add('drop');
});
canvas.addEventListener('dragleave', () => canvas.classList.remove('drop'));
canvas.addEventListener('drop', (e) => {
  e.preventDefault();
  canvas.classList.remove('drop');
  const file = e.dataTransfer?.files[0];
  if (file) void openImage(file);
});
$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void openImage(file);
});

installDemoHooks(async (input) => (await classify(input)).probabilities);

/**
 * A session of `bytes` on the backend that runs now. On WebGPU its first run is checked against
 * WebAssembly (src/web/checked-session.ts); if they disagree the page says so and stays on
 * WebAssembly.
 */
async function sessionOf(bytes: Uint8Array): Promise<InferenceSession> {
  const runtime = ort!;
  const open = (provider: Backend) => openSession(runtime, bytes, provider);
  if (backend === 'wasm') return open('wasm');
  return CheckedSession.open(open, 1, (report) => {
    if (report.trusted) return;
    backend = 'wasm';
    showBackend($('backend'), 'wasm', fallbackNote('inference', report));
  });
}

/** A first run on a fixed input: it compiles WebGPU's shaders and checks WebGPU before anyone draws. */
async function warmUp(): Promise<void> {
  const bar = new Float32Array(SIDE * SIDE);
  for (let y = 6; y < 22; y++) for (let x = 13; x < 16; x++) bar[y * SIDE + x] = 1;
  await classify(bar);
}

/** Predict with a tuned model's bytes, or the shipped model again (null); what is drawn is read again. */
async function useModel(onnx: Uint8Array | null): Promise<void> {
  if (!shipped) return;
  const previous = session;
  session = onnx ? await sessionOf(onnx) : shipped.session;
  tunedBytes = onnx;
  if (previous && previous !== shipped.session) await previous.release();
  await readAgain();
}

/** Shows what the model now in use makes of what is drawn (nothing when the canvas is blank). */
async function readAgain(): Promise<void> {
  if (!currentInput) return;
  const { probabilities, ms } = await classify(currentInput);
  showResult(probabilities, ms);
}

/** Runs the models on `next` from now on: the shipped model's session (and a tuned one's) made again there. */
async function useBackend(next: Backend): Promise<void> {
  if (!shipped) return;
  setStatus(`loading onnxruntime-web for ${next}…`);
  ort = await loadOrt(next, 1);
  backend = next;
  showBackend($('backend'), next);
  const old = [shipped.session, session];
  shipped = { bytes: shipped.bytes, session: await sessionOf(shipped.bytes) };
  session = tunedBytes ? await sessionOf(tunedBytes) : shipped.session;
  for (const s of new Set(old)) await s?.release();
  await warmUp();
  await readAgain();
  setStatus('ready');
}

setUpTeaching({
  backend: () => backend,
  currentInput: () => currentInput,
  shippedModel: () => shipped?.bytes,
  useModel,
  clearDrawing: clearCanvas,
});

/** What the page needs of a model card (`<model>.json`, written by `npm run export`), where it has one. */
interface Card {
  parameters?: number;
  test_accuracy?: number;
  epochs?: number;
  name?: string;
  input_shape?: number[];
  classes?: number;
}

async function readCard(): Promise<Card | undefined> {
  try {
    const res = await fetch(MODEL_URL.replace(/\.onnx$/, '.json'));
    return res.ok ? ((await res.json()) as Card) : undefined;
  } catch {
    return undefined; // the card is informative; a model without one is taken as MNIST's [N,1,28,28] -> [N,10]
  }
}

async function start(): Promise<void> {
  clearCanvas();
  const choice = await setUpBackendChoice($<HTMLSelectElement>('backend-choice'), (next) => void useBackend(next));
  backend = choice.chosen;
  showBackend($('backend'), backend);
  let bytes: ArrayBuffer;
  try {
    const res = await fetch(MODEL_URL);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    bytes = await res.arrayBuffer();
  } catch (e) {
    setStatus(`error: could not load the model ${MODEL_URL} (${(e as Error).message})`, true);
    return;
  }
  const card = await readCard();
  const inputShape = card?.input_shape ?? [1, SIDE, SIDE];
  if (inputShape.join() !== [1, SIDE, SIDE].join()) {
    setStatus(`error: ${MODEL_URL} takes [${inputShape.join(',')}] images (its card says); this page draws 1x${SIDE}x${SIDE} digits`, true);
    return;
  }
  showClasses(card?.classes ?? 10);
  try {
    ort = await loadOrt(backend, 1);
    session = await sessionOf(new Uint8Array(bytes));
    shipped = { bytes: new Uint8Array(bytes), session };
    await warmUp();
  } catch (e) {
    setStatus(`error: onnxruntime-web could not start the model (${(e as Error).message})`, true);
    return;
  }
  setStatus('ready');
  if (typeof card?.test_accuracy === 'number') {
    const name = card.name && card.name !== 'seed-cnn-mnist' ? `${card.name}, ` : '';
    $('model-card').textContent =
      `Model: ${name}${(card.parameters ?? 0).toLocaleString('en-US')} parameters, ${(100 * card.test_accuracy).toFixed(2)}% on the MNIST test set (${card.epochs} epochs).`;
  }
}

void start();
