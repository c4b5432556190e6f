/**
 * Layers, PyTorch-style: each owns `state_dict` entries (names like `conv1.weight`) and
 * emits its forward into a graph for one of three modes:
 *  - train: batch statistics, dropout masks, new running statistics as extra outputs;
 *  - eval: running statistics, no dropout (what `model.eval()` does);
 *  - inference: as eval, but BatchNorm is already folded into the conv before it
 *    (`foldBatchNorm`), so BatchNorm2d emits nothing.
 */
import { staticShape, type Tensor } from '../graph/builder.js';
import * as op from '../graph/ops/index.js';
import { numel, type Shape } from '../graph/shape.js';
import type { Rng } from '../util/rng.js';

export type Mode = 'train' | 'eval' | 'inference';

export interface StateSpec {
  /** PyTorch state_dict key, e.g. `bn1.running_var`. */
  name: string;
  shape: readonly number[];
  /** Parameters get gradients; buffers (running statistics) do not. */
  trainable: boolean;
  init: (rng: Rng) => Float32Array;
}

/** What a layer can ask of the graph it is emitted into. */
export interface ForwardContext {
  readonly mode: Mode;
  /** The tensor holding a state entry (a graph input when training, a weight when exported). */
  state(name: string): Tensor;
  /** Training: report the new value of a buffer (BatchNorm running statistics). */
  updateBuffer(name: string, value: Tensor): void;
  /** Training: the dropout keep-mask, already scaled by 1/(1-p), for a layer. */
  dropoutMask(layer: string, shape: Shape, p: number): Tensor;
}

export interface Layer {
  /** Module name in the state_dict (`conv1`), or a display name for stateless layers. */
  readonly name: string;
  /** PyTorch class name, for summaries. */
  readonly kind: string;
  readonly state: readonly StateSpec[];
  forward(x: Tensor, ctx: ForwardContext): Tensor;
  /** Multiply-accumulates per image, given the output shape [N, C, H, W] (summary). */
  macs(output: Shape): number;
}

/** A layer with no state and no multiply-accumulates of its own. */
abstract class StatelessLayer implements Layer {
  abstract readonly kind: string;
  readonly state: StateSpec[] = [];
  constructor(readonly name: string) {}
  abstract forward(x: Tensor, ctx: ForwardContext): Tensor;
  macs(): number {
    return 0;
  }
}

const constant = (value: number) => (n: number) => () => new Float32Array(n).fill(value);
const uniform = (bound: number, n: number) => (rng: Rng) =>
  Float32Array.from({ length: n }, () => rng.range(-bound, bound));

export class Conv2d implements Layer {
  readonly kind = 'Conv2d';
  readonly state: StateSpec[];

  constructor(
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly padding = 0,
  ) {
    // PyTorch's default init: kaiming_uniform(a=sqrt(5)) gives U(+-1/sqrt(fan_in)), as does the bias.
    const fanIn = inChannels * kernel * kernel;
    const bound = 1 / Math.sqrt(fanIn);
    const wShape = [outChannels, inChannels, kernel, kernel];
    this.state = [
      { name: `${name}.weight`, shape: wShape, trainable: true, init: uniform(bound, outChannels * fanIn) },
      { name: `${name}.bias`, shape: [outChannels], trainable: true, init: uniform(bound, outChannels) },
    ];
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const p = this.padding;
    return op.conv(x, ctx.state(`${this.name}.weight`), ctx.state(`${this.name}.bias`), { pads: [p, p, p, p] });
  }

  macs([, c, h, w]: Shape): number {
    return (c as number) * (h as number) * (w as number) * this.inChannels * this.kernel * this.kernel;
  }
}

export class BatchNorm2d implements Layer {
  readonly kind = 'BatchNorm2d';
  readonly state: StateSpec[];

  /** `momentum` as in PyTorch: running = (1 - momentum) * running + momentum * batch. */
  constructor(
    readonly name: string,
    readonly channels: number,
    readonly momentum = 0.1,
    readonly epsilon = 1e-5,
  ) {
    const c = [channels];
    this.state = [
      { name: `${name}.weight`, shape: c, trainable: true, init: constant(1)(channels) },
      { name: `${name}.bias`, shape: c, trainable: true, init: constant(0)(channels) },
      { name: `${name}.running_mean`, shape: c, trainable: false, init: constant(0)(channels) },
      { name: `${name}.running_var`, shape: c, trainable: false, init: constant(1)(channels) },
    ];
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    if (ctx.mode === 'inference') return x; // folded into the conv before it
    const [gamma, beta, mean, variance] = this.state.map((s) => ctx.state(s.name));
    if (ctx.mode === 'eval') return op.batchNormInference(x, gamma, beta, mean, variance, this.epsilon);

    const batch = op.batchNormTraining(x, gamma, beta, this.epsilon);
    // PyTorch keeps the unbiased variance in running_var; the kernel returns the biased one.
    const [n, , h, w] = staticShape(x, 'BatchNormalization');
    const count = numel([n, h, w]);
    const m = this.momentum;
    const unbiased = op.mul(batch.variance, count / (count - 1));
    ctx.updateBuffer(`${this.name}.running_mean`, op.add(op.mul(mean, 1 - m), op.mul(batch.mean, m)));
    ctx.updateBuffer(`${this.name}.running_var`, op.add(op.mul(variance, 1 - m), op.mul(unbiased, m)));
    return batch.y;
  }

  macs(): number {
    return 0;
  }
}

/**
 * Dropout. In training it multiplies by a keep-mask fed as a graph input (values 0 and
 * 1/(1-p)), drawn in TypeScript from (seed, step, layer): ORT's Dropout replays its random
 * sequence from session start (so a resumed run would repeat the first epoch's masks), draws
 * on one thread (21% of a step when measured), and ORT's optimizer deletes it outright when
 * its mask output is unused.
 */
export class Dropout extends StatelessLayer {
  readonly kind = 'Dropout';

  constructor(
    name: string,
    readonly p: number,
  ) {
    super(name);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    if (ctx.mode !== 'train' || this.p === 0) return x;
    return op.mul(x, ctx.dropoutMask(this.name, x.shape, this.p));
  }
}

export class ReLU extends StatelessLayer {
  readonly kind = 'ReLU';
  forward(x: Tensor): Tensor {
    return op.relu(x);
  }
}

export class MaxPool2d extends StatelessLayer {
  readonly kind = 'MaxPool2d';

  constructor(
    name: string,
    readonly kernel: number,
  ) {
    super(name);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    // Training needs the arg-max indices for the gradient; the others use the plain op.
    return ctx.mode === 'train' ? op.maxPoolWithIndices(x, this.kernel) : op.maxPool(x, this.kernel);
  }
}

/** Global average pooling, flattened to [N, C] (PyTorch: AdaptiveAvgPool2d(1) then view). */
export class GlobalAvgPool extends StatelessLayer {
  readonly kind = 'GlobalAvgPool';
  forward(x: Tensor): Tensor {
    return op.flatten(op.globalAveragePool(x), 1);
  }
}

export class LogSoftmax extends StatelessLayer {
  readonly kind = 'LogSoftmax';
  forward(x: Tensor): Tensor {
    return op.logSoftmax(x, 1);
  }
}
