import { describe, expect, test } from 'vitest';
import { BlankImageError, mnistInput, type RgbaImage, SIDE } from '../../src/preprocess/mnist-style.js';

/** An RGBA image with a filled rectangle of `ink` on `paper`. */
function picture(
  w: number,
  h: number,
  rect: { x: number; y: number; w: number; h: number },
  ink: number,
  paper: number,
  alpha = 255,
): RgbaImage {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = x >= rect.x && x < rect.x + rect.w && y >= rect.y && y < rect.y + rect.h;
      const v = inside ? ink : paper;
      data.set([v, v, v, inside ? 255 : alpha], 4 * (y * w + x));
    }
  }
  return { width: w, height: h, data };
}

function stats(x: Float32Array) {
  let mass = 0,
    cx = 0,
    cy = 0,
    x0 = SIDE,
    x1 = -1,
    y0 = SIDE,
    y1 = -1;
  for (let y = 0; y < SIDE; y++)
    for (let i = 0; i < SIDE; i++) {
      const v = x[y * SIDE + i];
      mass += v;
      cx += v * i;
      cy += v * y;
      if (v > 0.5) {
        x0 = Math.min(x0, i);
        x1 = Math.max(x1, i);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  return { cx: cx / mass, cy: cy / mass, w: x1 - x0 + 1, h: y1 - y0 + 1, max: Math.max(...x) };
}

describe('MNIST-style preprocessing', () => {
  test('a dark stroke on light paper is inverted, fitted to 20 px and centred by mass', () => {
    const s = stats(mnistInput(picture(200, 100, { x: 150, y: 10, w: 20, h: 80 }, 0, 255)));
    expect(s.max).toBeCloseTo(1, 5);
    expect(s.h).toBe(20);
    expect(s.w).toBe(5); // 20 x 80 keeps its 1:4 aspect
    expect(Math.abs(s.cx - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(s.cy - 13.5)).toBeLessThanOrEqual(0.5);
  });

  test('a light stroke on a dark background gives the same input as its negative', () => {
    const dark = mnistInput(picture(60, 60, { x: 5, y: 20, w: 30, h: 10 }, 255, 0));
    const light = mnistInput(picture(60, 60, { x: 5, y: 20, w: 30, h: 10 }, 0, 255));
    expect(Array.from(dark)).toEqual(Array.from(light));
  });

  test('transparent background with dark ink (a canvas) counts as paper', () => {
    const s = stats(mnistInput(picture(50, 50, { x: 20, y: 5, w: 10, h: 40 }, 0, 0, 0)));
    expect(s.h).toBe(20);
    expect(s.w).toBe(5);
  });

  test('a grey background is the zero level', () => {
    const x = mnistInput(picture(40, 40, { x: 10, y: 10, w: 20, h: 20 }, 250, 90));
    expect(Math.min(...x)).toBe(0);
    expect(x[0]).toBe(0);
  });

  test('blank pictures are refused', () => {
    expect(() => mnistInput(picture(30, 30, { x: 0, y: 0, w: 0, h: 0 }, 0, 255))).toThrow(BlankImageError);
    expect(() => mnistInput(picture(30, 30, { x: 3, y: 3, w: 5, h: 5 }, 250, 255))).toThrow(
      'no digit found: the image is blank',
    );
  });
});
