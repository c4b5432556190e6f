/** Real MNIST test digits as image files and raw pixels, for the predict tests. */
import { join } from 'node:path';
import sharp from 'sharp';
import { bundledMnistDir, loadSplit, type Split } from '../../src/data/mnist.node.js';

let cached: Split | undefined;
export const testSplit = (): Split => (cached ??= loadSplit(bundledMnistDir(), 'test'));

/** Test digit `index`: 28x28 grey pixels, white on black as MNIST stores them. */
export function digitPixels(index: number): Buffer {
  return Buffer.from(testSplit().images.subarray(index * 784, (index + 1) * 784));
}

export const digitLabel = (index: number): number => testSplit().labels[index];

/** The first test digit with this label at or after `from`. */
export function firstOf(label: number, from = 0): number {
  const labels = testSplit().labels;
  for (let i = from; i < labels.length; i++) if (labels[i] === label) return i;
  throw new Error(`no test digit ${label} after #${from}`);
}

/** Writes test digit `index` as a 28x28 PNG in `dir`; returns its path. */
export async function digitPng(dir: string, index: number): Promise<string> {
  const file = join(dir, `digit-${index}.png`);
  await sharp(digitPixels(index), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(file);
  return file;
}
