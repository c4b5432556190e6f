/** A sequence of layers grouped into named blocks, and the state that goes with it. */
import type { Tensor } from '../graph/builder.js';
import { numel } from '../graph/shape.js';
import { Rng } from '../util/rng.js';
import { BatchNorm2d, type ForwardContext, type Layer, type StateSpec } from './layers.js';

export interface Block {
  readonly name: string;
  readonly layers: readonly Layer[];
}

/** One tensor of a state_dict: float32 values and their shape. */
export interface StateTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** PyTorch-style state_dict: `conv1.weight` -> tensor, in the network's order. */
export type StateDict = Map<string, StateTensor>;

/** The first non-finite value of a state, as `'name' holds NaN (element i)`, or undefined if all are finite. */
export function firstNonFinite(state: StateDict): string | undefined {
  for (const [name, t] of state) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) return `'${name}' holds ${t.data[i]} (element ${i})`;
  }
  return undefined;
}

export class Network {
  constructor(
    readonly name: string,
    readonly blocks: readonly Block[],
    /** Shape of one input image, [C, H, W]. */
    readonly inputShape: readonly number[],
  ) {}

  get layers(): Layer[] {
    return this.blocks.flatMap((b) => b.layers);
  }

  get stateSpecs(): StateSpec[] {
    return this.layers.flatMap((l) => l.state);
  }

  get parameterSpecs(): StateSpec[] {
    return this.stateSpecs.filter((s) => s.trainable);
  }

  get parameterCount(): number {
    return this.parameterSpecs.reduce((n, s) => n + numel(s.shape), 0);
  }

  /** Emits every layer in order; `onLayer` sees each layer's output (summaries). */
  forward(x: Tensor, ctx: ForwardContext, onLayer?: (layer: Layer, block: Block, y: Tensor) => void): Tensor {
    let y = x;
    for (const block of this.blocks) {
      for (const layer of block.layers) {
        y = layer.forward(y, ctx);
        onLayer?.(layer, block, y);
      }
    }
    return y;
  }

  /**
   * The same network with each BatchNorm folded into the conv before it (no BatchNorm layers):
   * the architecture of an exported model, whose state `foldBatchNorm` makes. Training it is
   * fine-tuning with frozen BatchNorm statistics, as one does on a handful of examples, whose
   * batch statistics would mean nothing.
   */
  withBatchNormFolded(): Network {
    const blocks = this.blocks.map((b) => ({ name: b.name, layers: b.layers.filter((l) => !(l instanceof BatchNorm2d)) }));
    return new Network(`${this.name}-folded`, blocks, this.inputShape);
  }

  /** Fresh state with PyTorch's default initialisation, drawn from `seed`. */
  initialState(seed: number): StateDict {
    const state: StateDict = new Map();
    this.stateSpecs.forEach((spec, i) => state.set(spec.name, { shape: spec.shape, data: spec.init(new Rng(seed, i)) }));
    return state;
  }
}
