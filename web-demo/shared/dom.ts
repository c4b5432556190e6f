/** What the pages share about their DOM: finding elements by test id, and showing a model input. */
import { SIDE } from '../../src/preprocess/mnist-style.js';

/** The element with `data-testid="id"` (the pages' stable handles, the ones the tests use too). */
export const byTestId = <T extends HTMLElement>(id: string): T => document.querySelector<T>(`[data-testid="${id}"]`)!;

/** Paints a 28x28 input (values in [0,1]) into `canvas` as grey pixels, white ink on black. */
export function paintInput(canvas: HTMLCanvasElement, input: Float32Array): void {
  const image = new ImageData(SIDE, SIDE);
  input.forEach((v, i) => {
    const g = Math.round(255 * v);
    image.data.set([g, g, g, 255], 4 * i);
  });
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}

/** A status line's setter: its text, marked as an error or not. */
export function statusLine(el: HTMLElement): (text: string, error?: boolean) => void {
  return (text, error = false) => {
    el.textContent = text;
    el.classList.toggle('error', error);
  };
}

/** A share as a percentage with two decimals: 0.9953 -> "99.53%". */
export const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;
