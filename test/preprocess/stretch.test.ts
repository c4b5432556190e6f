import { describe, expect, test } from 'vitest';
import { stretchedInput } from '../../src/preprocess/stretch.js';

/** A width x height RGBA picture whose pixel (x, y) is `at(x, y)`. */
function picture(width: number, height: number, at: (x: number, y: number) => number[]) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(at(x, y), 4 * (y * width + x));
  return { width, height, data };
}

describe('stretchedInput: a picture as a --data model takes it', () => {
  test('RGB planes in [0,1], alpha dropped, shrunk by area averaging to [3, H, W]', () => {
    // left half red, right half blue, 8x4, half transparent: stretched to 2x1
    const image = picture(8, 4, (x) => (x < 4 ? [255, 0, 0, 128] : [0, 0, 255, 128]));
    expect(Array.from(stretchedInput(image, [3, 1, 2]))).toEqual([1, 0, 0, 0, 0, 1]);
  });

  test('one channel is luminance; enlarging is bilinear between pixel centres', () => {
    const image = picture(2, 1, (x) => (x === 0 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const out = Array.from(stretchedInput(image, [1, 1, 4]));
    expect(out.map((v) => Number(v.toFixed(3)))).toEqual([0, 0.25, 0.75, 1]);
    const green = stretchedInput(
      picture(1, 1, () => [0, 255, 0, 255]),
      [1, 1, 1],
    );
    expect(green[0]).toBeCloseTo(0.587, 6);
  });
});
