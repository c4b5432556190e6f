/**
 * The draw page's answer: the class read, how sure, how long it took, one bar per class, and
 * what the model saw. An answer that is not a probability distribution (NaN from a broken
 * model) is never shown as one: the status says what is wrong instead.
 */
import { answerProblem } from '../../src/export/classifier-check.js';
import { argmax } from '../../src/util/argmax.js';
import { byTestId, paintInput } from '../shared/dom.js';
import { demoHook } from '../shared/test-hooks.js';

export class ResultView {
  private readonly prediction = byTestId('prediction');
  private readonly confidence = byTestId('confidence');
  private readonly latency = byTestId('latency');
  private readonly bars = byTestId('probabilities');
  private readonly preview = byTestId<HTMLCanvasElement>('input-preview');
  private rows: HTMLLIElement[] = [];
  private names: readonly string[] = [];

  /** One bar per class, labelled by name (the card's class names, else the class numbers). */
  setClasses(names: readonly string[]): void {
    this.names = names;
    this.bars.replaceChildren();
    this.rows = names.map((name, d) => {
      const li = document.createElement('li');
      li.dataset.digit = String(d);
      const label = document.createElement('span');
      label.textContent = name;
      li.append(label);
      li.insertAdjacentHTML(
        'beforeend',
        '<span class="bar"><span class="fill"></span></span><span class="pct">–</span>',
      );
      this.bars.append(li);
      return li;
    });
  }

  /** What the model sees of the drawing, an input of `shape`. */
  showInput(input: Float32Array, shape: readonly number[]): void {
    paintInput(this.preview, input, shape);
  }

  /**
   * An answer and its time, or nothing (null: a blank canvas). Returns why the answer cannot be
   * shown (the model gave NaN, or no distribution), after showing nothing; undefined otherwise.
   */
  show(probabilities: number[] | null, ms?: number): string | undefined {
    const problem = probabilities ? answerProblem(probabilities) : undefined;
    const shown = problem ? null : probabilities;
    demoHook((h) => {
      h.shown++;
      h.lastProbabilities = shown;
    });
    const best = shown ? argmax(shown) : -1;
    this.prediction.textContent = shown ? (this.names[best] ?? String(best)) : '–';
    this.confidence.textContent = shown ? `${(100 * shown[best]).toFixed(1)}% sure` : '\u00a0';
    this.latency.textContent = ms === undefined || !shown ? '–' : `${ms.toFixed(2)} ms`;
    this.rows.forEach((li, d) => {
      const p = shown?.[d] ?? 0;
      li.querySelector<HTMLElement>('.fill')!.style.width = `${(100 * p).toFixed(1)}%`;
      li.querySelector('.pct')!.textContent = shown ? `${(100 * p).toFixed(1)}%` : '–';
      li.classList.toggle('best', d === best);
    });
    if (!probabilities) this.preview.getContext('2d')!.clearRect(0, 0, this.preview.width, this.preview.height);
    return problem;
  }
}
