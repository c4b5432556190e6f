/** Conv2d, as torch.nn.Conv2d: stride, padding (numbers or 'same' / 'valid'), dilation, groups, bias. */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import type { Shape } from '../../graph/shape.js';
import { type Context, LayerInputError, Module, Parameter } from '../module.js';
import { pair, type Size2, uniform } from './init.js';

export interface Conv2dOptions {
  stride?: Size2;
  /** Zeros on each side, or 'same' (output size = input size; stride 1) or 'valid' (none). */
  padding?: Size2 | 'same' | 'valid';
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** [top, left, bottom, right], ONNX order. */
  readonly pads: [number, number, number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    readonly options: Conv2dOptions = {},
  ) {
    super();
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true } = options;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(stride);
    this.dilation = pair(dilation);
    this.groups = groups;
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new LayerInputError(
        `Conv2d(${inChannels}, ${outChannels}): groups ${groups} must divide both channel counts`,
      );
    }
    this.pads = convPads(padding, this.kernelSize, this.dilation, this.stride);
    const [kh, kw] = this.kernelSize;
    // PyTorch's default: kaiming_uniform(a=sqrt(5)) gives U(+-1/sqrt(fan_in)), as does the bias.
    const fanIn = (inChannels / groups) * kh * kw;
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = new Parameter([outChannels, inChannels / groups, kh, kw], uniform(bound, outChannels * fanIn));
    if (bias) this.bias = new Parameter([outChannels], uniform(bound, outChannels));
  }

  /** The same conv with a bias: what a BatchNorm after it folds into. */
  withBias(): Conv2d {
    return this.bias
      ? this
      : new Conv2d(this.inChannels, this.outChannels, this.kernelSize, { ...this.options, bias: true });
  }

  override describe(): string {
    const [kh, kw] = this.kernelSize;
    const extras = [
      this.stride.some((s) => s !== 1) && `stride ${this.stride.join('x')}`,
      this.dilation.some((d) => d !== 1) && `dilation ${this.dilation.join('x')}`,
      this.groups !== 1 && `groups ${this.groups}`,
    ].filter(Boolean);
    return `Conv2d ${this.inChannels}->${this.outChannels}, ${kh}x${kw}${extras.map((e) => `, ${e}`).join('')}`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    if (x.rank !== 4) throw new LayerInputError(`got a ${x.rank}-D input; expected [N, ${this.inChannels}, H, W]`);
    if (x.shape[1] !== this.inChannels) throw new LayerInputError(`got ${x.shape[1]} channels`);
    return op.conv(x, ctx.value(this.weight), this.bias && ctx.value(this.bias), {
      pads: this.pads,
      strides: this.stride,
      dilations: this.dilation,
      group: this.groups,
    });
  }

  override macs(_input: Shape, [, c, h, w]: Shape): number {
    const [kh, kw] = this.kernelSize;
    return (c as number) * (h as number) * (w as number) * (this.inChannels / this.groups) * kh * kw;
  }
}

function convPads(
  padding: Size2 | 'same' | 'valid',
  kernel: [number, number],
  dilation: [number, number],
  stride: [number, number],
): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (stride.some((s) => s !== 1)) throw new LayerInputError("padding 'same' needs stride 1 (as in PyTorch)");
    // PyTorch puts the odd one of an even total at the end.
    const total = kernel.map((k, i) => dilation[i] * (k - 1));
    const before = total.map((t) => Math.floor(t / 2));
    return [before[0], before[1], total[0] - before[0], total[1] - before[1]];
  }
  const [ph, pw] = pair(padding);
  return [ph, pw, ph, pw];
}
