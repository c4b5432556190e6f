/** Whether a network can train on a data set: the same check for `--model` files and the training page's models. */
import { CLASSES, type Split } from '../../data/dataset.js';
import { classCount } from '../../model/graphs.js';
import type { Network } from '../../model/network.js';

/**
 * Why `net` cannot train on `data`'s images and classes, or undefined if it can. Without
 * `classes` known, it emits the network to count them, which throws a ModelError naming a
 * layer that does not fit.
 */
export function dataMismatch(net: Network, data: Split, known?: number): string | undefined {
  const images = [1, data.rows, data.cols];
  if (net.inputShape.join() !== images.join()) return `the model takes [${net.inputShape.join(',')}] images; the data gives [${images.join(',')}]`;
  const classes = known ?? classCount(net);
  if (classes !== CLASSES) return `the model gives ${classes} outputs per image; the data has ${CLASSES} classes (0-9)`;
  return undefined;
}
