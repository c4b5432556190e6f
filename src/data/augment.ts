/**
 * Training-time augmentation: a random rotation (bilinear) and a random whole-pixel shift,
 * like torchvision's RandomAffine(degrees, translate) with integer translations; the
 * uncovered border is background (0). Writes normalised floats directly.
 */
import { MNIST_MEAN, MNIST_STD } from './normalize.js';

export interface AugmentOptions {
  /** Maximum rotation in degrees (uniform in [-rotate, rotate]). */
  rotate: number;
  /** Maximum shift in pixels (integer, uniform in [-shift, shift]) on each axis. */
  shift: number;
}

export interface Affine {
  degrees: number;
  dx: number;
  dy: number;
}

/**
 * Output pixel (x, y) samples the source at R^-1((x, y) - c - t) + c, with c the image
 * centre and t the shift, bilinearly; pixels outside the image count as background (0).
 */
export function affineInto(
  src: Uint8Array,
  srcOffset: number,
  rows: number,
  cols: number,
  out: Float32Array,
  outOffset: number,
  { degrees, dx, dy }: Affine,
): void {
  const theta = (degrees * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const cx = (cols - 1) / 2;
  const cy = (rows - 1) / 2;
  const scale = 1 / 255;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const ux = x - cx - dx;
      const uy = y - cy - dy;
      const sx = cos * ux + sin * uy + cx;
      const sy = -sin * ux + cos * uy + cy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      let v = 0;
      for (let j = 0; j < 2; j++) {
        const yy = y0 + j;
        if (yy < 0 || yy >= rows) continue;
        const wy = j ? fy : 1 - fy;
        for (let i = 0; i < 2; i++) {
          const xx = x0 + i;
          if (xx < 0 || xx >= cols) continue;
          v += wy * (i ? fx : 1 - fx) * src[srcOffset + yy * cols + xx];
        }
      }
      out[outOffset + y * cols + x] = (v * scale - MNIST_MEAN) / MNIST_STD;
    }
  }
}
