/**
 * MNIST-style preprocessing for any picture of a digit, written once for the CLI (pixels from
 * sharp) and the browser demo (pixels from a canvas). Pure TypeScript, no Node or DOM APIs.
 *   1. grey: luminance, with transparency composited over white;
 *   2. polarity: MNIST digits are white on black, so a light background is inverted;
 *   3. contrast: the background level (the border's median) maps to 0, the brightest ink to 1;
 *   4. crop to the ink's bounding box and scale it to fit 20x20, keeping the aspect ratio
 *      (area averaging when shrinking, bilinear when enlarging);
 *   5. paste into 28x28 so that the ink's centre of mass sits at the centre.
 * The result is 784 values in [0,1]; the exported model normalises them itself.
 */
import { ExpectedError } from '../util/errors.js';

export interface RgbaImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, RGBA. */
  data: ArrayLike<number>;
}

export const SIDE = 28;
/**
 * The most pixels a picture of a digit may have, in predict and in the page: 50 megapixels
 * holds any phone photo (8192x6144) and keeps a small file that inflates to a huge picture (a
 * 16000x16000 PNG of a few KB) from costing seconds and gigabytes.
 */
export const MAX_IMAGE_PIXELS = 50_000_000;
const BOX = 20;
/** Ink below this (after contrast) does not count for the bounding box. */
const INK_THRESHOLD = 0.2;
/** A picture whose brightest ink is this close to its background is blank. */
const MIN_CONTRAST = 0.1;

export class BlankImageError extends ExpectedError {
  constructor(message = 'no digit found: the image is blank') {
    super(message);
  }
}

/** Luminance in [0,1] per pixel, transparent pixels counting as white. */
function grey({ width, height, data }: RgbaImage): Float32Array {
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const a = data[4 * i + 3] / 255;
    const lum = (0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]) / 255;
    out[i] = a * lum + (1 - a);
  }
  return out;
}

function borderMedian(values: Float32Array, width: number, height: number): number {
  const border: number[] = [];
  for (let x = 0; x < width; x++) border.push(values[x], values[(height - 1) * width + x]);
  for (let y = 1; y < height - 1; y++) border.push(values[y * width], values[y * width + width - 1]);
  border.sort((a, b) => a - b);
  return border[border.length >> 1];
}

/** Ink intensity in [0,1]: 0 is background, 1 the strongest stroke. */
function inkMap(image: RgbaImage): Float32Array {
  const { width, height } = image;
  const g = grey(image);
  if (borderMedian(g, width, height) > 0.5) for (let i = 0; i < g.length; i++) g[i] = 1 - g[i];
  const background = borderMedian(g, width, height);
  let top = 0;
  for (const v of g) top = Math.max(top, v);
  if (top - background < MIN_CONTRAST) throw new BlankImageError();
  for (let i = 0; i < g.length; i++) g[i] = Math.min(Math.max((g[i] - background) / (top - background), 0), 1);
  return g;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function inkBox(ink: Float32Array, width: number, height: number): Box {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] < INK_THRESHOLD) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  if (x1 < 0) throw new BlankImageError();
  return { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** Resamples the `box` region of `src` to w x h. */
export function resample(src: Float32Array, width: number, box: Box, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const sx = box.w / w;
  const sy = box.h / h;
  const at = (x: number, y: number) => src[(box.y + y) * width + box.x + x];
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      if (sx >= 1 && sy >= 1) {
        // Area average over the footprint [i*sx, (i+1)*sx) x [j*sy, (j+1)*sy).
        let sum = 0;
        const xa = i * sx;
        const xb = xa + sx;
        const ya = j * sy;
        const yb = ya + sy;
        for (let y = Math.floor(ya); y < Math.ceil(yb); y++) {
          const wy = Math.min(yb, y + 1) - Math.max(ya, y);
          for (let x = Math.floor(xa); x < Math.ceil(xb); x++) {
            sum += wy * (Math.min(xb, x + 1) - Math.max(xa, x)) * at(Math.min(x, box.w - 1), Math.min(y, box.h - 1));
          }
        }
        out[j * w + i] = sum / (sx * sy);
      } else {
        // Bilinear, sampling at pixel centres.
        const fx = Math.min(Math.max((i + 0.5) * sx - 0.5, 0), box.w - 1);
        const fy = Math.min(Math.max((j + 0.5) * sy - 0.5, 0), box.h - 1);
        const x0 = Math.floor(fx);
        const y0 = Math.floor(fy);
        const x1 = Math.min(x0 + 1, box.w - 1);
        const y1 = Math.min(y0 + 1, box.h - 1);
        const ax = fx - x0;
        const ay = fy - y0;
        out[j * w + i] =
          (1 - ay) * ((1 - ax) * at(x0, y0) + ax * at(x1, y0)) + ay * ((1 - ax) * at(x0, y1) + ax * at(x1, y1));
      }
    }
  }
  return out;
}

/** The 28x28 model input (row-major, values in [0,1]) for a picture of one digit. */
export function mnistInput(image: RgbaImage): Float32Array {
  const ink = inkMap(image);
  const box = inkBox(ink, image.width, image.height);
  const scale = BOX / Math.max(box.w, box.h);
  const w = Math.max(1, Math.round(box.w * scale));
  const h = Math.max(1, Math.round(box.h * scale));
  const glyph = resample(ink, image.width, box, w, h);

  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = glyph[y * w + x];
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  }
  // Shift so that the centre of mass lands on the centre of the 28x28 field.
  const left = Math.round((SIDE - 1) / 2 - cx / mass);
  const top = Math.round((SIDE - 1) / 2 - cy / mass);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const tx = x + left;
      const ty = y + top;
      if (tx >= 0 && tx < SIDE && ty >= 0 && ty < SIDE) out[ty * SIDE + tx] = glyph[y * w + x];
    }
  }
  return out;
}
