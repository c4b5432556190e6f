/**
 * Pooling, as torch.nn's: MaxPool2d, AvgPool2d (count_include_pad as PyTorch's default, true), AdaptiveAvgPool2d(1).
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import { type Context, LayerInputError, Module } from '../module.js';
import { pair, type Size2 } from './init.js';

export interface PoolOptions {
  /** Window step (default: the kernel size). */
  stride?: Size2;
  padding?: Size2;
}

export interface MaxPoolOptions extends PoolOptions {
  /** PyTorch's ceil_mode: keep a last, partial window (SqueezeNet's pools). */
  ceilMode?: boolean;
}

/** Kernel, stride and [top, left, bottom, right] pads from PyTorch's arguments. */
function windowOf(
  kernelSize: Size2,
  { stride, padding = 0 }: PoolOptions,
): { kernel: [number, number]; strides: [number, number]; pads: number[] } {
  const kernel = pair(kernelSize);
  const [ph, pw] = pair(padding);
  if (ph > kernel[0] / 2 || pw > kernel[1] / 2)
    throw new LayerInputError(
      `padding ${ph}x${pw} must be at most half the kernel ${kernel.join('x')} (as in PyTorch)`,
    );
  return { kernel, strides: stride === undefined ? kernel : pair(stride), pads: [ph, pw, ph, pw] };
}

const describeWindow = (kind: string, { kernel, strides, pads }: ReturnType<typeof windowOf>) =>
  `${kind} ${kernel.join('x')}${strides.some((s, i) => s !== kernel[i]) ? `, stride ${strides.join('x')}` : ''}` +
  `${pads.some((p) => p) ? `, padding ${pads[0]}x${pads[1]}` : ''}`;

export class MaxPool2d extends Module {
  private readonly window: ReturnType<typeof windowOf>;
  readonly ceilMode: boolean;

  constructor(kernelSize: Size2, { ceilMode = false, ...options }: MaxPoolOptions = {}) {
    super();
    this.window = windowOf(kernelSize, options);
    this.ceilMode = ceilMode;
  }

  override describe(): string {
    return `${describeWindow('MaxPool2d', this.window)}${this.ceilMode ? ', ceil_mode' : ''}`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const { kernel, strides, pads } = this.window;
    // Training needs the arg-max indices for the gradient; eval uses the plain op.
    const pool = ctx.mode === 'train' ? op.maxPoolWithIndices : op.maxPool;
    return pool(x, kernel, { strides, pads, ceilMode: this.ceilMode });
  }
}

export class AvgPool2d extends Module {
  private readonly window: ReturnType<typeof windowOf>;
  readonly countIncludePad: boolean;

  constructor(
    kernelSize: Size2,
    { countIncludePad = true, ...options }: PoolOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
    this.window = windowOf(kernelSize, options);
    this.countIncludePad = countIncludePad;
  }

  override describe(): string {
    return describeWindow('AvgPool2d', this.window);
  }

  forward(x: Tensor): Tensor {
    const { kernel, strides, pads } = this.window;
    return op.averagePool(x, kernel, { strides, pads, countIncludePad: this.countIncludePad });
  }
}

/** Global average pooling: output size 1 only ([N, C, 1, 1]; follow it with Flatten). */
export class AdaptiveAvgPool2d extends Module {
  constructor(outputSize: Size2) {
    super();
    if (pair(outputSize).some((s) => s !== 1))
      throw new LayerInputError(`AdaptiveAvgPool2d(${String(outputSize)}): only output size 1 is supported`);
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new LayerInputError(`got a ${x.rank}-D input; expected [N, C, H, W]`);
    return op.globalAveragePool(x);
  }
}
