/**
 * MNIST test digits as the demo's pen draws them, without a browser: the strokes traced from
 * the digit (strokes.ts) drawn 20 px wide on a white 280x280 canvas (an SVG rasterised by
 * sharp, as the page's canvas would), then preprocessed by src/preprocess like any drawing.
 */
import sharp from 'sharp';
import { mnistInput } from '../../src/preprocess/mnist-style.js';
import { testSplit } from './digits.js';
import { digitStrokes } from './strokes.js';

const SCALE = 10; // 28 px -> the 280 px canvas
const PEN = 20;

export async function drawnDigit(index: number): Promise<Float32Array> {
  const strokes = digitStrokes(testSplit().images.subarray(index * 784, (index + 1) * 784));
  const at = ([x, y]: [number, number]) => [(x + 0.5) * SCALE, (y + 0.5) * SCALE];
  const shapes = strokes.map((stroke) => {
    if (stroke.length === 1) {
      const [cx, cy] = at(stroke[0]);
      return `<circle cx="${cx}" cy="${cy}" r="${PEN / 2}"/>`;
    }
    const points = stroke.map((p) => at(p).join(',')).join(' ');
    return `<polyline points="${points}" fill="none" stroke="#000" stroke-width="${PEN}" stroke-linecap="round" stroke-linejoin="round"/>`;
  });
  const side = 28 * SCALE;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><rect width="${side}" height="${side}" fill="#fff"/>${shapes.join('')}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return mnistInput({
    width: info.width,
    height: info.height,
    data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length),
  });
}
