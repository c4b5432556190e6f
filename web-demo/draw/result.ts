/**
 * The draw page's answer: the class read, how sure, how long it took, one bar per class, and
 * what the model saw. An answer that is not a probability distribution (NaN from a broken
 * model) is never shown as one: the status says what is wrong instead.
 */
import { answerProblem } from '../../src/export/classifier-check.js';
import { argmax } from '../../src/util/argmax.js';
import { byTestId, context2d, paintInput } from '../shared/dom.js';
import { demoHook } from '../shared/test-hooks.js';

export class ResultView {
  private readonly prediction = byTestId('prediction');
  private readonly confidence = byTestId('confidence');
  private readonly latency = byTestId('latency');
  private readonly bars = byTestId('probabilities');
  private readonly preview = byTestId<HTMLCanvasElement>('input-preview');
  /** One row per class: its bar's fill and its percentage, kept to be set on each answer. */
  private rows: { li: HTMLLIElement; fill: HTMLElement; pct: HTMLElement }[] = [];
  private names: readonly string[] = [];

  /** One bar per class, labelled by name (the card's class names, else the class numbers). */
  setClasses(names: readonly string[]): void {
    this.names = names;
    this.bars.replaceChildren();
    this.rows = names.map((name, d) => {
      const li = document.createElement('li');
      li.dataset.digit = String(d);
      const [fill, pct] = [span('fill'), span('pct', '–')];
      const bar = span('bar');
      bar.append(fill);
      li.append(span('', name), bar, pct);
      this.bars.append(li);
      return { li, fill, pct };
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
    this.rows.forEach(({ li, fill, pct }, d) => {
      const p = shown?.[d] ?? 0;
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      pct.textContent = shown ? `${(100 * p).toFixed(1)}%` : '–';
      li.classList.toggle('best', d === best);
    });
    if (!probabilities) context2d(this.preview).clearRect(0, 0, this.preview.width, this.preview.height);
    return problem;
  }
}

/** A `<span>` of class `className` (none when empty) holding `text`. */
function span(className: string, text = ''): HTMLSpanElement {
  const el = document.createElement('span');
  if (className) el.className = className;
  el.textContent = text;
  return el;
}
