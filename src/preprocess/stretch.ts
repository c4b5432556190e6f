/**
 * A picture as the input of a model trained on `--data` images (the card's `preprocess:
 * resize`): stretched to the input's height and width (area averaging when shrinking, bilinear
 * when enlarging), alpha dropped, grey by luminance for one channel or RGB planes for three,
 * values in [0,1]. The draw page's counterpart of predict's sharp decode (image-folder.node.ts);
 * pure TypeScript, no Node or DOM APIs.
 */
import { type RgbaImage, resample } from './mnist-style.js';

/** One plane of `image` in [0,1]: red, green or blue (0-2), or luminance (-1). */
function plane({ width, height, data }: RgbaImage, channel: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    out[i] =
      (channel >= 0 ? data[4 * i + channel] : 0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]) /
      255;
  }
  return out;
}

/** The [C, H, W] input (C 1 or 3) for `image`, row-major planes. */
export function stretchedInput(image: RgbaImage, [channels, height, width]: readonly number[]): Float32Array {
  const out = new Float32Array(channels * height * width);
  const whole = { x: 0, y: 0, w: image.width, h: image.height };
  for (let c = 0; c < channels; c++) {
    out.set(resample(plane(image, channels === 1 ? -1 : c), image.width, whole, width, height), c * height * width);
  }
  return out;
}
