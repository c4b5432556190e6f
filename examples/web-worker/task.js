/**
 * The example's task, network and recipe, shared by the worker (onnx-mnist-train/web) and
 * node-losses.mjs (onnx-mnist-train/node): 16x16 images whose one bright quarter is the class.
 */
import {
  BatchNorm2d,
  Conv2d,
  Flatten,
  IDENTITY_NORMALIZATION,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
} from 'onnx-mnist-train';

/** `count` images (bytes) with their labels, drawn from a seeded generator. */
export function quarters(count, seed) {
  const images = new Uint8Array(count * 256);
  const labels = new Uint8Array(count);
  let s = seed;
  const random = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  for (let n = 0; n < count; n++) {
    labels[n] = n % 4;
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) {
        const quarter = (y < 8 ? 0 : 2) + (x < 8 ? 0 : 1);
        images[n * 256 + y * 16 + x] = Math.round(
          255 * (quarter === labels[n] ? 0.25 + 0.75 * random() : 0.85 * random()),
        );
      }
  }
  return {
    images,
    labels,
    count,
    shape: [1, 16, 16],
    classNames: ['top left', 'top right', 'bottom left', 'bottom right'],
  };
}

export const smallCnn = () =>
  new Sequential({
    conv: new Conv2d(1, 8, 3, { padding: 1 }),
    bn: new BatchNorm2d(8),
    relu: new ReLU(),
    pool: new MaxPool2d(2),
    flatten: new Flatten(),
    fc: new Linear(8 * 8 * 8, 4),
  });

export const RECIPE = { epochs: 2, batchSize: 32, lr: 0.01, augment: null, normalize: IDENTITY_NORMALIZATION, seed: 1 };
export const STEPS = 20;
