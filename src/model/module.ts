/**
 * Modules, PyTorch's way. A module owns parameters and buffers (`readonly weight = new
 * Parameter(...)`) and child modules (`readonly conv1 = new Conv2d(...)`), found by walking its
 * properties in the order they were set, as PyTorch registers attributes; its state_dict names
 * follow from that tree (`conv1.weight`, `features.0.bias`). `forward(x, ctx)` emits the module
 * into a graph; it runs a child with `this.child.call(x, ctx)` (PyTorch's `self.child(x)`)
 * and reads its own state with `ctx.value(this.weight)`.
 *
 * Modules describe; they hold no values and no names of their own. The network (network.ts)
 * walks the tree once, names every module and entry, and gives forward a Context that turns
 * an entry into the graph tensor holding it: a graph input when training, a weight when
 * exported. One module object can therefore serve every graph built from it.
 */
import type { Tensor } from '../graph/builder.js';
import type { Shape } from '../graph/shape.js';
import { ExpectedError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/** train: batch statistics, dropout masks, new running statistics; eval: running statistics, no dropout. */
export type Mode = 'train' | 'eval';

/** Draws an entry's initial values (PyTorch's default initialisation) from a seeded stream. */
export type Init = (rng: Rng) => Float32Array;

/** A tensor of a module's state_dict: a parameter or a buffer. */
export abstract class StateEntry {
  abstract readonly trainable: boolean;
  constructor(
    readonly shape: readonly number[],
    readonly init: Init,
  ) {}
}

/** A trained tensor (PyTorch's nn.Parameter). */
export class Parameter extends StateEntry {
  readonly trainable = true;
}

/**
 * A tensor the module updates itself while training, such as
 * BatchNorm's running statistics (PyTorch's register_buffer).
 */
export class StateBuffer extends StateEntry {
  readonly trainable = false;
}

/** What a module's forward can ask of the graph it is emitted into. */
export interface Context {
  readonly mode: Mode;
  /** The graph tensor holding one of the module's parameters or buffers. */
  value(entry: StateEntry): Tensor;
  /** Training: the new value of a buffer, carried to the next step. */
  updateBuffer(entry: StateEntry, value: Tensor): void;
  /**
   * Training: x times a keep-mask scaled by 1/(1-p), drawn in TypeScript for this call of
   * `module` and fed to the graph (see Dropout); x itself in eval or when p is 0.
   */
  dropout(module: Module, x: Tensor, p: number): Tensor;
  /** Runs `module` on x as part of this forward (what `module.call(x, ctx)` does). */
  call(module: Module, x: Tensor): Tensor;
}

/**
 * A module's input does not fit it; the network prefixes the layer, as in
 * `layer 'fc1' (Linear 400->120) got 256 features`.
 */
export class LayerInputError extends ExpectedError {}

const MODULE = Symbol.for('onnx-mnist-train.Module');

export abstract class Module {
  /** Brand, so that a model file importing a second copy of this package is still recognised. */
  readonly [MODULE] = true;

  /** True for modules of this package's Module class, from any copy of it. */
  static is(value: unknown): value is Module {
    return typeof value === 'object' && value !== null && MODULE in value && value[MODULE] === true;
  }

  /** PyTorch's class name (Conv2d, BatchNorm2d, ...), for summaries and errors. */
  get kind(): string {
    return this.constructor.name;
  }

  /** One line for summaries and errors, e.g. `Linear 400->120`; the kind unless a layer says more. */
  describe(): string {
    return this.kind;
  }

  /** Emits this module on x. Called through `call`, never directly. */
  abstract forward(x: Tensor, ctx: Context): Tensor;

  /** Runs this module from its parent's forward: PyTorch's `self.body(x)`. */
  call(x: Tensor, ctx: Context): Tensor {
    return ctx.call(this, x);
  }

  /** Child modules by name, in the order they were set. */
  namedChildren(): [string, Module][] {
    return Object.entries(this).filter((e): e is [string, Module] => Module.is(e[1]));
  }

  /** This module's own parameters, then its buffers, by name (PyTorch's state_dict order). */
  namedState(): [string, StateEntry][] {
    const entries = Object.entries(this).filter((e): e is [string, StateEntry] => e[1] instanceof StateEntry);
    return [...entries.filter(([, e]) => e.trainable), ...entries.filter(([, e]) => !e.trainable)];
  }

  /** Multiply-accumulates per image of one call, given its input and output shapes (for summaries). */
  macs(_input: Shape, _output: Shape): number {
    return 0;
  }

  /** What a summary (and training, once) should say beyond the rows: an imported graph's constants, say. */
  notes(): string[] {
    return [];
  }
}
