/**
 * A model file's exports as a Network: its default export a module, and optionally
 * `inputShape` ([C, H, W]; default one MNIST image). The same rule for `--model` files and
 * the training page's examples. Pure: the page bundles it.
 */
import { ExpectedError } from '../util/errors.js';
import { Module } from './module.js';
import { Network } from './network.js';

/** The shape of one MNIST image, which a model takes unless its file says otherwise. */
const DEFAULT_INPUT_SHAPE: readonly number[] = [1, 28, 28];

/** Exports that do not make a model; the message says what to write instead (the caller names the file). */
export class ModelExportsError extends ExpectedError {}

function inputShapeOf(value: unknown): readonly number[] {
  if (value === undefined) return DEFAULT_INPUT_SHAPE;
  const isSize = (d: unknown): d is number => typeof d === 'number' && Number.isInteger(d) && d > 0;
  if (!Array.isArray(value) || value.length !== 3 || !value.every(isSize)) {
    throw new ModelExportsError(
      `its inputShape export must be [channels, height, width] of positive integers, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function networkFromExports(name: string, exports: Readonly<Record<string, unknown>>): Network {
  const root = exports.default;
  if (root === undefined)
    throw new ModelExportsError(
      'has no default export: end it with `export default new Sequential(...)` (or your module)',
    );
  if (!Module.is(root)) {
    const what =
      typeof root === 'function'
        ? `a ${root.name ? `class or function '${root.name}'` : 'function'}`
        : root === null
          ? 'null'
          : `a ${typeof root}`;
    throw new ModelExportsError(
      `its default export is ${what}, not a module: export an instance, e.g. \`export default new Net()\``,
    );
  }
  const net = new Network(name, root, inputShapeOf(exports.inputShape));
  if (net.parameterCount === 0) throw new ModelExportsError('the model has no parameters to train');
  return net;
}
