/** What the pages share about their DOM: finding elements by test id, and showing a model input. */
import { SIDE } from '../../src/preprocess/mnist-style.js';

/**
 * The element with `data-testid="id"` (the pages' stable handles,
 * the ones the tests use too); none is a bug, said by name.
 */
export function byTestId<T extends HTMLElement>(id: string): T {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`the page has no element with data-testid="${id}"`);
  return el;
}

/** Paints a model input of `shape` (values in [0,1]; 28x28 grey by default) into `canvas`, one pixel per value. */
export function paintInput(
  canvas: HTMLCanvasElement,
  input: Float32Array,
  [channels, height, width]: readonly number[] = [1, SIDE, SIDE],
): void {
  if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
  const image = new ImageData(width, height);
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    const value = (c: number) => Math.round(255 * input[(channels === 1 ? 0 : c) * plane + i]);
    image.data.set([value(0), value(1), value(2), 255], 4 * i);
  }
  context2d(canvas).putImageData(image, 0, 0);
}

/** `canvas`'s 2D context; none (a canvas already given another kind of context) is a bug, said by name. */
export function context2d(
  canvas: HTMLCanvasElement,
  settings?: CanvasRenderingContext2DSettings,
): CanvasRenderingContext2D {
  const context = canvas.getContext('2d', settings);
  if (!context) throw new Error(`the canvas ${canvas.dataset.testid ?? canvas.id} gives no 2D context`);
  return context;
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
