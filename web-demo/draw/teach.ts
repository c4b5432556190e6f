/**
 * "Teach it your handwriting" on the draw page: the user's digits, each with its label, go to
 * the training worker, which fine-tunes the shipped model on them mixed with MNIST
 * (src/train/core/fine-tune.ts), exports the result and checks it on the MNIST test set. The
 * page then predicts with the tuned model until Reset. Each training starts again from the
 * shipped model with the whole set, so training twice does not compound.
 */
import { SIDE } from '../../src/preprocess/mnist-style.js';
import { type Backend, BACKEND_LABELS } from '../shared/backend.js';
import { byTestId, paintInput, percent, statusLine } from '../shared/dom.js';
import type { FromWorker, ToWorker } from '../shared/protocol.js';
import { setTeachHooks } from '../shared/test-hooks.js';
import { startWorker } from '../shared/worker.js';

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

type Tuned = Extract<FromWorker, { type: 'tuned' }>;

/** The examples that did not take, by place in the list and label: "#2 (taught as 7) and #5 (taught as 1)". */
function untaken(learned: readonly boolean[], examples: readonly Example[]): string {
  const names = learned.flatMap((ok, i) => (ok ? [] : [`#${i + 1} (taught as ${examples[i].label})`]));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0];
}

/** Points a download link at these bytes (freeing the previous ones) and shows it. */
function offer(link: HTMLAnchorElement, bytes: Uint8Array): void {
  if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  link.hidden = false;
}

/** A digit of the user's, small, as the model sees it. */
function thumbnail(input: Float32Array): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = SIDE;
  paintInput(canvas, input);
  return canvas;
}

class Teaching {
  private readonly ui = {
    label: byTestId<HTMLInputElement>('teach-label'),
    add: byTestId<HTMLButtonElement>('teach-add'),
    train: byTestId<HTMLButtonElement>('teach-train'),
    reset: byTestId<HTMLButtonElement>('teach-reset'),
    download: byTestId<HTMLAnchorElement>('teach-download'),
    downloadCheckpoint: byTestId<HTMLAnchorElement>('teach-download-checkpoint'),
    list: byTestId('teach-examples'),
    forgetting: byTestId('teach-forgetting'),
  };
  private readonly say = statusLine(byTestId('teach-status'));
  private readonly examples: Example[] = [];
  /** The examples of the last training started (the answer reports on them). */
  private inTraining: Example[] = [];
  private worker?: Worker;
  private busy = false;
  private tuned = false;
  /** The backend the worker trains on, and why, if it is not the one asked for. */
  private tunedOn?: { backend: Backend; note?: string };

  constructor(private readonly host: TeachHost) {
    this.ui.add.addEventListener('click', () => this.addDrawn());
    this.ui.train.addEventListener('click', () => this.train());
    this.ui.reset.addEventListener('click', () => void this.reset());
    this.refresh();
  }

  private refresh(): void {
    const { examples, busy, ui } = this;
    setTeachHooks({ examples: examples.length });
    ui.train.disabled = busy || examples.length === 0;
    ui.add.disabled = busy;
    ui.reset.disabled = busy || !this.tuned;
    // The set being trained stays as it was sent: no removing while it trains.
    for (const remove of ui.list.querySelectorAll<HTMLButtonElement>('[data-testid=teach-remove]'))
      remove.disabled = busy;
  }

  private render(): void {
    this.ui.list.replaceChildren(
      ...this.examples.map((ex, i) => {
        const li = document.createElement('li');
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = '×';
        remove.title = 'remove this digit';
        remove.dataset.testid = 'teach-remove';
        remove.addEventListener('click', () => {
          this.examples.splice(i, 1);
          this.render();
        });
        li.append(thumbnail(ex.input), `as ${ex.label}`, remove);
        return li;
      }),
    );
    this.refresh();
  }

  private addDrawn(): void {
    const text = this.ui.label.value.trim();
    if (!/^[0-9]$/.test(text)) return this.say('error: type the digit it is (0-9) first', true);
    const input = this.host.currentInput();
    if (!input) return this.say('error: draw a digit (or open an image) first', true);
    this.examples.push({ input: input.slice(), label: Number(text) });
    this.host.clearDrawing();
    this.render();
    const n = this.examples.length;
    this.say(`${n} digit${n === 1 ? '' : 's'} of yours; draw another, or train`);
  }

  private train(): void {
    const model = this.host.shippedModel();
    if (this.examples.length === 0 || this.busy) return;
    if (!model) return this.say('error: there is no model to tune (it did not load)', true);
    this.worker ??= startWorker((m) => this.onMessage(m));
    this.busy = true;
    this.tunedOn = undefined;
    this.inTraining = [...this.examples];
    this.ui.forgetting.hidden = true;
    setTeachHooks({ steps: null, forgetting: null, done: false });
    this.refresh();
    const inputs = new Float32Array(this.examples.length * SIDE * SIDE);
    for (const [i, ex] of this.examples.entries()) inputs.set(ex.input, i * SIDE * SIDE);
    const message: ToWorker = {
      type: 'tune',
      model,
      inputs,
      labels: Uint8Array.from(this.examples, (ex) => ex.label),
      dataUrl: new URL('mnist/', location.href).href,
      backend: this.host.backend(),
    };
    this.worker.postMessage(message);
    this.say('starting…');
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'phase':
        return this.say(m.text);
      case 'backend':
        this.tunedOn = { backend: m.backend, note: m.note };
        return;
      case 'tune-step':
        return this.say(
          `training on your digits until each reads as you taught it: ` +
            `step ${m.step} (loss ${m.loss.toFixed(3)}; at most ${m.steps})`,
        );
      case 'evaluating':
        return this.say(`checking the tuned model on ${m.images.toLocaleString('en-US')} MNIST test images…`);
      case 'tuned':
        void this.host.useModel(m.onnx).then(() => this.showTuned(m));
        return;
      case 'tune-failed':
      case 'error':
        this.busy = false;
        setTeachHooks({ done: true });
        this.refresh();
        return this.say(`error: ${m.message}`, true);
    }
  }

  /** The tuned model is in use: its downloads, what took, and what MNIST lost. */
  private showTuned(m: Tuned): void {
    const accuracy = m.verification.correct / m.verification.count;
    const learned = m.learned.filter(Boolean).length;
    this.tuned = true;
    this.busy = false;
    offer(this.ui.download, m.onnx);
    offer(this.ui.downloadCheckpoint, m.checkpoint);
    setTeachHooks({ tunedAccuracy: accuracy, steps: m.steps, forgetting: m.forgetting ?? null, done: true });
    this.refresh();
    const taught =
      learned === m.learned.length
        ? `all ${m.learned.length} of your digits read as you taught them`
        : `${learned} of your ${m.learned.length} digits read as you taught them; ` +
          `${untaken(m.learned, this.inTraining)} did not take in ${m.steps} steps`;
    const on = this.tunedOn
      ? ` on ${BACKEND_LABELS[this.tunedOn.backend]}${this.tunedOn.note ? ` (${this.tunedOn.note})` : ''}`
      : '';
    this.say(
      `done in ${m.seconds.toFixed(1)} s${on} (${m.steps} steps): ${taught}; ` +
        `MNIST test accuracy ${percent(accuracy)} (the shipped model: ${percent(m.shippedAccuracy)})`,
      learned < m.learned.length,
    );
    this.ui.forgetting.textContent = m.forgetting ? `${m.forgetting} Reset brings the shipped model back.` : '';
    this.ui.forgetting.hidden = !m.forgetting;
  }

  private async reset(): Promise<void> {
    await this.host.useModel(null);
    this.tuned = false;
    this.ui.download.hidden = this.ui.downloadCheckpoint.hidden = this.ui.forgetting.hidden = true;
    setTeachHooks({ tunedAccuracy: null });
    this.refresh();
    this.say('back to the shipped model');
  }
}

export function setUpTeaching(host: TeachHost): void {
  new Teaching(host);
}
