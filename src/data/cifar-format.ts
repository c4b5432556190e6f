/**
 * CIFAR-10's binary batches (the "binary version" of https://www.cs.toronto.edu/~kriz/cifar.html):
 * each record is one label byte, then 3 x 32 x 32 pixel bytes, red plane, green, blue. Parsed
 * from bytes already in memory: no Node API.
 */
import type { ByteSplit } from './dataset.js';
import { DataError } from './idx-format.js';

const SHAPE = [3, 32, 32] as const;
const IMAGE = 3 * 32 * 32;
const RECORD = 1 + IMAGE;

/** CIFAR-10's classes, in label order (batches.meta.txt). */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** The examples of one or more batch files, in order; `files` names them in errors. */
export function splitFromCifar(
  batches: readonly { name: string; bytes: Uint8Array }[],
  classNames: readonly string[] = CIFAR10_CLASSES,
): ByteSplit {
  let count = 0;
  for (const { name, bytes } of batches) {
    if (bytes.length === 0 || bytes.length % RECORD !== 0) {
      throw new DataError(
        name,
        `${bytes.length} bytes is not a whole number of CIFAR-10 records ` +
          `(${RECORD} bytes each: a label, then 3x32x32 pixels)`,
      );
    }
    count += bytes.length / RECORD;
  }
  const images = new Uint8Array(count * IMAGE);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const { name, bytes } of batches) {
    for (let at = 0; at < bytes.length; at += RECORD, n++) {
      const label = bytes[at];
      if (label >= classNames.length)
        throw new DataError(
          name,
          `record ${at / RECORD}: label ${label} is out of range (${classNames.length} classes)`,
        );
      labels[n] = label;
      images.set(bytes.subarray(at + 1, at + RECORD), n * IMAGE);
    }
  }
  return { images, labels, count, shape: SHAPE, classNames };
}
