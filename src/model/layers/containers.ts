/**
 * Composition: Sequential (as torch.nn.Sequential: children named 0, 1, ... or by the keys of
 * an object, as with an OrderedDict) and Residual, the output of a body added to its input
 * (or to a shortcut of it, where the body changes the shape).
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import { formatShape } from '../../graph/shape.js';
import { type Context, LayerInputError, Module } from '../module.js';

export class Sequential extends Module {
  private readonly children: readonly [string, Module][];
  /** Named groups of children that the summary subtotals (see `withBlocks`). */
  blocks?: Readonly<Record<string, readonly string[]>>;

  /** `new Sequential(a, b, c)` names them 0, 1, 2; `new Sequential({ conv1: a, bn1: b })` by key. */
  constructor(...modules: Module[] | [Readonly<Record<string, Module>>]) {
    super();
    const [first] = modules;
    const named =
      modules.length === 1 && !Module.is(first)
        ? Object.entries(first)
        : modules.map((m, i) => [String(i), m] as [string, Module]);
    for (const [name, m] of named) {
      if (!Module.is(m))
        throw new LayerInputError(`Sequential: child '${name}' is not a module (${m === null ? 'null' : typeof m})`);
    }
    this.children = named;
  }

  /**
   * Groups children into blocks for the summary's subtotals, e.g. `{ 'Block 1': ['conv1', ...] }`,
   * where they are not nested Sequentials already (a nested one is a block of its own).
   */
  withBlocks(blocks: Readonly<Record<string, readonly string[]>>): this {
    const names = new Set(this.children.map(([n]) => n));
    for (const [block, members] of Object.entries(blocks)) {
      const unknown = members.find((m) => !names.has(m));
      if (unknown !== undefined)
        throw new LayerInputError(`block '${block}': this Sequential has no child '${unknown}'`);
    }
    this.blocks = blocks;
    return this;
  }

  override namedChildren(): [string, Module][] {
    return [...this.children];
  }

  forward(x: Tensor, ctx: Context): Tensor {
    return this.children.reduce((y, [, m]) => m.call(y, ctx), x);
  }
}

/** y = body(x) + shortcut(x), with shortcut the identity unless given (a 1x1 strided conv, say). */
export class Residual extends Module {
  readonly body: Module;
  readonly shortcut?: Module;

  constructor(body: Module, shortcut?: Module) {
    super();
    this.body = body;
    if (shortcut) this.shortcut = shortcut;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const y = this.body.call(x, ctx);
    const skip = this.shortcut ? this.shortcut.call(x, ctx) : x;
    if (y.shape.join() !== skip.shape.join()) {
      throw new LayerInputError(
        `the body gives ${formatShape(y.shape)} but the shortcut ${formatShape(skip.shape)}; ` +
          `give a shortcut that matches (e.g. a 1x1 conv with the body's stride)`,
      );
    }
    return op.add(y, skip);
  }
}
