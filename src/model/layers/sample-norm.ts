/**
 * GroupNorm and LayerNorm, as torch.nn's: normalisation over a sample's own values (no batch
 * statistics, no running state; train and eval are the same). Both are written with standard
 * ops (ReduceMean, Sub, Mul, Sqrt, Div), so their gradients come from those ops' rules and an
 * exported model keeps them as those ops. Variance is the biased one, as PyTorch's.
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import { type Context, LayerInputError, Module, Parameter } from '../module.js';
import { constant } from './init.js';

/**
 * (x - mean) / sqrt(var + eps) over `axes`, each statistic kept
 * for broadcasting (also ONNX's LayerNormalization, imported).
 */
export function standardize(x: Tensor, axes: readonly number[], eps: number): Tensor {
  const centred = op.sub(x, op.reduceMean(x, axes, true));
  const variance = op.reduceMean(op.mul(centred, centred), axes, true);
  return op.div(centred, op.sqrt(op.add(variance, eps)));
}

export interface NormOptions {
  eps?: number;
  /** GroupNorm's `affine`, LayerNorm's `elementwise_affine`: a learned scale and shift. */
  affine?: boolean;
}

export class GroupNorm extends Module {
  readonly weight?: Parameter;
  readonly bias?: Parameter;
  readonly eps: number;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    { eps = 1e-5, affine = true }: NormOptions = {},
  ) {
    super();
    if (numChannels % numGroups !== 0)
      throw new LayerInputError(`GroupNorm(${numGroups}, ${numChannels}): the groups must divide the channels`);
    this.eps = eps;
    if (affine) {
      this.weight = new Parameter([numChannels], constant(1, numChannels));
      this.bias = new Parameter([numChannels], constant(0, numChannels));
    }
  }

  override describe(): string {
    return `GroupNorm ${this.numGroups} groups of ${this.numChannels} channels`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels)
      throw new LayerInputError(`got ${x.rank >= 2 ? `${x.shape[1]} channels` : `a ${x.rank}-D input`}`);
    const grouped = op.reshape(x, [x.shape[0], this.numGroups, -1]);
    const y = op.reshape(standardize(grouped, [2], this.eps), x.shape);
    if (!this.weight || !this.bias) return y;
    const perChannel = [1, this.numChannels, ...x.shape.slice(2).map(() => 1)];
    return op.add(
      op.mul(y, op.reshape(ctx.value(this.weight), perChannel)),
      op.reshape(ctx.value(this.bias), perChannel),
    );
  }
}

export class LayerNorm extends Module {
  readonly weight?: Parameter;
  readonly bias?: Parameter;
  readonly normalizedShape: readonly number[];
  readonly eps: number;

  /** `normalizedShape`: the trailing dims normalised over, e.g. [C, H, W] after a conv. */
  constructor(normalizedShape: number | readonly number[], { eps = 1e-5, affine = true }: NormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = eps;
    const n = this.normalizedShape.reduce((a, b) => a * b, 1);
    if (affine) {
      this.weight = new Parameter(this.normalizedShape, constant(1, n));
      this.bias = new Parameter(this.normalizedShape, constant(0, n));
    }
  }

  override describe(): string {
    return `LayerNorm [${this.normalizedShape.join(', ')}]`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const k = this.normalizedShape.length;
    const trailing = x.shape.slice(-k);
    if (x.rank <= k || trailing.some((d, i) => d !== this.normalizedShape[i])) {
      throw new LayerInputError(`got trailing dims [${trailing.join(', ')}]`);
    }
    const y = standardize(
      x,
      [...Array(k).keys()].map((i) => x.rank - k + i),
      this.eps,
    );
    if (!this.weight || !this.bias) return y;
    return op.add(op.mul(y, ctx.value(this.weight)), ctx.value(this.bias));
  }
}
