/**
 * "Teach it your handwriting" on the draw page: the user's digits, each with its label, go to
 * the training worker, which fine-tunes the shipped model on them mixed with MNIST
 * (src/train/core/fine-tune.ts), exports the result and checks it on the MNIST test set. The
 * page then predicts with the tuned model until Reset. Each training starts again from the
 * shipped model with the whole set, so training twice does not compound.
 */
import { SIDE } from '../../src/preprocess/mnist-style.js';
import { byTestId, paintInput } from '../shared/dom.js';
import { type Backend, BACKEND_LABELS } from '../shared/backend.js';
import type { FromWorker, ToWorker } from '../shared/protocol.js';
import { setTeachHooks } from '../shared/test-hooks.js';

export interface TeachHost {
  /** The backend the page runs models on (teaching asks the worker for the same). */
  backend(): Backend;
  /** The 28x28 input of what is drawn now, or null when the canvas is blank. */
  currentInput(): Float32Array | null;
  /** The shipped model's .onnx bytes (undefined until loaded). */
  shippedModel(): Uint8Array | undefined;
  /** Predict with these .onnx bytes from now on (null: the shipped model again). */
  useModel(onnx: Uint8Array | null): Promise<void>;
  clearDrawing(): void;
}

interface Example {
  input: Float32Array;
  label: number;
}

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;

/** The examples that did not take, by place in the list and label: "#2 (taught as 7) and #5 (taught as 1)". */
function untaken(learned: readonly boolean[], examples: readonly Example[]): string {
  const names = learned.flatMap((ok, i) => (ok ? [] : [`#${i + 1} (taught as ${examples[i].label})`]));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0];
}

export function setUpTeaching(host: TeachHost): void {
  const $ = byTestId;
  const label = $<HTMLInputElement>('teach-label');
  const add = $<HTMLButtonElement>('teach-add');
  const train = $<HTMLButtonElement>('teach-train');
  const reset = $<HTMLButtonElement>('teach-reset');
  const download = $<HTMLAnchorElement>('teach-download');
  const downloadCheckpoint = $<HTMLAnchorElement>('teach-download-checkpoint');
  const list = $('teach-examples');
  const status = $('teach-status');
  const forgetting = $('teach-forgetting');

  const examples: Example[] = [];
  /** The examples of the last training started (the answer reports on them). */
  let inTraining: Example[] = [];
  let worker: Worker | undefined;
  let busy = false;
  let tuned = false;
  /** The backend the worker trains on, and why, if it is not the one asked for. */
  let tunedOn: { backend: Backend; note?: string } | undefined;

  const say = (text: string, error = false) => {
    status.textContent = text;
    status.classList.toggle('error', error);
  };
  const refresh = () => {
    setTeachHooks({ examples: examples.length });
    train.disabled = busy || examples.length === 0;
    add.disabled = busy;
    reset.disabled = busy || !tuned;
    // The set being trained stays as it was sent: no removing while it trains.
    for (const remove of list.querySelectorAll<HTMLButtonElement>('[data-testid=teach-remove]')) remove.disabled = busy;
  };

  /** Points a download link at these bytes (freeing the previous ones) and shows it. */
  function offer(link: HTMLAnchorElement, bytes: Uint8Array): void {
    if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    link.hidden = false;
  }

  function thumbnail(input: Float32Array): HTMLCanvasElement {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = SIDE;
    paintInput(canvas, input);
    return canvas;
  }

  function render(): void {
    list.replaceChildren(
      ...examples.map((ex, i) => {
        const li = document.createElement('li');
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = '×';
        remove.title = 'remove this digit';
        remove.dataset.testid = 'teach-remove';
        remove.addEventListener('click', () => {
          examples.splice(i, 1);
          render();
        });
        li.append(thumbnail(ex.input), `as ${ex.label}`, remove);
        return li;
      }),
    );
    refresh();
  }

  add.addEventListener('click', () => {
    const text = label.value.trim();
    if (!/^[0-9]$/.test(text)) return say('error: type the digit it is (0-9) first', true);
    const input = host.currentInput();
    if (!input) return say('error: draw a digit (or open an image) first', true);
    examples.push({ input: input.slice(), label: Number(text) });
    host.clearDrawing();
    render();
    say(`${examples.length} digit${examples.length === 1 ? '' : 's'} of yours; draw another, or train`);
  });

  function onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'phase':
        return say(m.text);
      case 'backend':
        tunedOn = { backend: m.backend, note: m.note };
        return;
      case 'tune-step':
        return say(`training on your digits until each reads as you taught it: step ${m.step} (loss ${m.loss.toFixed(3)}; at most ${m.steps})`);
      case 'evaluating':
        return say(`checking the tuned model on ${m.images.toLocaleString('en-US')} MNIST test images…`);
      case 'tuned': {
        const accuracy = m.verification.correct / m.verification.count;
        const learned = m.learned.filter(Boolean).length;
        void host.useModel(m.onnx).then(() => {
          tuned = true;
          busy = false;
          offer(download, m.onnx);
          offer(downloadCheckpoint, m.checkpoint);
          setTeachHooks({ tunedAccuracy: accuracy, steps: m.steps, forgetting: m.forgetting ?? null, done: true });
          refresh();
          const taught =
            learned === m.learned.length
              ? `all ${m.learned.length} of your digits read as you taught them`
              : `${learned} of your ${m.learned.length} digits read as you taught them; ${untaken(m.learned, inTraining)} did not take in ${m.steps} steps`;
          const on = tunedOn ? ` on ${BACKEND_LABELS[tunedOn.backend]}${tunedOn.note ? ` (${tunedOn.note})` : ''}` : '';
          say(
            `done in ${m.seconds.toFixed(1)} s${on} (${m.steps} steps): ${taught}; MNIST test accuracy ${percent(accuracy)} (the shipped model: ${percent(m.shippedAccuracy)})`,
            learned < m.learned.length,
          );
          forgetting.textContent = m.forgetting ? `${m.forgetting} Reset brings the shipped model back.` : '';
          forgetting.hidden = !m.forgetting;
        });
        return;
      }
      case 'tune-failed':
      case 'error':
        busy = false;
        setTeachHooks({ done: true });
        refresh();
        return say(`error: ${m.message}`, true);
    }
  }

  train.addEventListener('click', () => {
    const model = host.shippedModel();
    if (examples.length === 0 || busy) return;
    if (!model) return say('error: there is no model to tune (it did not load)', true);
    if (!worker) {
      worker = new Worker(new URL('../worker/main.ts', import.meta.url), { type: 'module' });
      worker.addEventListener('message', (e: MessageEvent<FromWorker>) => onMessage(e.data));
      worker.addEventListener('error', (e) => onMessage({ type: 'error', message: e.message || 'the training worker failed to start' }));
    }
    busy = true;
    tunedOn = undefined;
    inTraining = [...examples];
    forgetting.hidden = true;
    setTeachHooks({ steps: null, forgetting: null, done: false });
    refresh();
    const inputs = new Float32Array(examples.length * SIDE * SIDE);
    examples.forEach((ex, i) => {
      inputs.set(ex.input, i * SIDE * SIDE);
    });
    const message: ToWorker = {
      type: 'tune',
      model,
      inputs,
      labels: Uint8Array.from(examples, (ex) => ex.label),
      dataUrl: new URL('mnist/', location.href).href,
      backend: host.backend(),
    };
    worker.postMessage(message);
    say('starting…');
  });

  reset.addEventListener('click', () => {
    void host.useModel(null).then(() => {
      tuned = false;
      download.hidden = downloadCheckpoint.hidden = forgetting.hidden = true;
      setTeachHooks({ tunedAccuracy: null });
      refresh();
      say('back to the shipped model');
    });
  });

  refresh();
}
