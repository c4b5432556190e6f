/**
 * Training-time augmentation: a random rotation (bilinear) and a random whole-pixel shift,
 * like torchvision's RandomAffine(degrees, translate) with integer translations (a shift of up
 * to p pixels with the border filled with 0 is RandomCrop(size, padding=p)), and for natural
 * images a random horizontal flip (RandomHorizontalFlip). Writes normalised floats directly.
 */
import type { Normalizer } from './normalize.js';

export interface AugmentOptions {
  /** Maximum rotation in degrees (uniform in [-rotate, rotate]). */
  rotate: number;
  /** Maximum shift in pixels (integer, uniform in [-shift, shift]) on each axis. */
  shift: number;
  /** Mirror half the examples left to right (not for digits: a mirrored 2 is no 2). */
  flip?: boolean;
}

/** Mirrors each row of an example [C, H, W] in `out` at `offset`, in place. */
export function flipRows(out: Float32Array, offset: number, [channels, rows, cols]: readonly number[]): void {
  for (let r = 0; r < channels * rows; r++) out.subarray(offset + r * cols, offset + (r + 1) * cols).reverse();
}

export interface Affine {
  degrees: number;
  dx: number;
  dy: number;
}

/**
 * Output pixel (x, y) of every channel samples the source at R^-1((x, y) - c - t) + c, with c
 * the image centre and t the shift, bilinearly; pixels outside the image count as background
 * (0). `shape` is one example's [C, H, W]; the result is normalised by `normalizer`.
 */
export function affineInto(
  src: Uint8Array | Float32Array,
  srcOffset: number,
  [channels, rows, cols]: readonly number[],
  out: Float32Array,
  outOffset: number,
  normalizer: Normalizer,
  { degrees, dx, dy }: Affine,
): void {
  const theta = (degrees * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const cx = (cols - 1) / 2;
  const cy = (rows - 1) / 2;
  const plane = rows * cols;
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
      for (let c = 0; c < channels; c++) {
        const from = srcOffset + c * plane;
        let v = 0;
        for (let j = 0; j < 2; j++) {
          const yy = y0 + j;
          if (yy < 0 || yy >= rows) continue;
          const wy = j ? fy : 1 - fy;
          for (let i = 0; i < 2; i++) {
            const xx = x0 + i;
            if (xx < 0 || xx >= cols) continue;
            v += wy * (i ? fx : 1 - fx) * src[from + yy * cols + xx];
          }
        }
        out[outOffset + c * plane + y * cols + x] = normalizer.value(c, v);
      }
    }
  }
}
