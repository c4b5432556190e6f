/**
 * Whether a network can train on a data set: one check for `--model` files, the training
 * page's models and the library's Trainer, so each refuses a mismatch in the same words.
 */
import { exampleSize, type Split } from '../../data/dataset.js';
import { classCount } from '../../model/graphs.js';
import { isClassification } from '../../model/loss.js';
import type { Network } from '../../model/network.js';

const shapeText = (shape: readonly number[]) => `[${shape.join(',')}]`;

/**
 * Why `net` cannot train on `data`'s examples and labels, or undefined if it can. Without
 * `outputs` known, it emits the network to count them, which throws a NetworkError naming a
 * layer that does not fit. The labels are checked as the network's loss reads them: class
 * indices below its outputs, or one float per output.
 */
export function dataMismatch(net: Network, data: Split, outputs?: number): string | undefined {
  if (shapeText(net.inputShape) !== shapeText(data.shape))
    return `the model takes ${shapeText(net.inputShape)} images; the data gives ${shapeText(data.shape)}`;
  const k = outputs ?? classCount(net);
  if (data.classNames && data.classNames.length !== k) {
    return `the model gives ${k} outputs per image; the data has ${data.classNames.length} classes`;
  }
  return dataProblem(data, k, isClassification(net.options.loss));
}

/** What is wrong with a split's arrays themselves (their sizes, the labels' type and range), or undefined. */
export function dataProblem(data: Split, outputs: number, classification: boolean): string | undefined {
  if (!(Number.isInteger(data.count) && data.count >= 1))
    return `the data holds ${data.count} examples; it needs at least one`;
  const size = exampleSize(data);
  if (data.images.length !== data.count * size) {
    return (
      `the data's inputs hold ${data.images.length} values, ` +
      `not ${data.count} examples of ${shapeText(data.shape)} (${data.count * size})`
    );
  }
  if (classification) {
    if (data.labels instanceof Float32Array)
      return 'the labels are floats; a classification loss takes class indices (Uint8Array, Uint16Array, Int32Array)';
    if (data.labels.length !== data.count)
      return `the data has ${data.labels.length} labels for ${data.count} examples`;
    const bad = data.labels.findIndex((l) => !(l >= 0 && l < outputs));
    if (bad >= 0)
      return (
        `label ${data.labels[bad]} (example ${bad}) is out of range: ` +
        `the model gives ${outputs} classes (0-${outputs - 1})`
      );
    return undefined;
  }
  if (!(data.labels instanceof Float32Array))
    return 'the labels are class indices; a regression loss takes float targets (a Float32Array)';
  if (data.labels.length !== data.count * outputs)
    return `the data has ${data.labels.length} target values, not ${data.count} examples of ${outputs}`;
  return undefined;
}
