/**
 * BatchNorm2d, as torch.nn.BatchNorm2d: training normalises with the batch's statistics and
 * updates the running ones (momentum as PyTorch's: running = (1 - m) running + m batch, with
 * the unbiased batch variance, as PyTorch keeps); eval normalises with the running ones.
 * Exported models have it folded into the conv before it where there is one (export/fold.ts).
 */
import { staticShape, type Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import { numel } from '../../graph/shape.js';
import { type Context, LayerInputError, Module, Parameter, StateBuffer } from '../module.js';
import { constant } from './init.js';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
}

export class BatchNorm2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly running_mean: StateBuffer;
  readonly running_var: StateBuffer;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    { eps = 1e-5, momentum = 0.1 }: BatchNormOptions = {},
  ) {
    super();
    this.eps = eps;
    this.momentum = momentum;
    this.weight = new Parameter([numFeatures], constant(1, numFeatures));
    this.bias = new Parameter([numFeatures], constant(0, numFeatures));
    this.running_mean = new StateBuffer([numFeatures], constant(0, numFeatures));
    this.running_var = new StateBuffer([numFeatures], constant(1, numFeatures));
  }

  override describe(): string {
    return `BatchNorm2d ${this.numFeatures}`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures)
      throw new LayerInputError(`got ${x.rank === 4 ? `${x.shape[1]} channels` : `a ${x.rank}-D input`}`);
    const [gamma, beta, mean, variance] = [this.weight, this.bias, this.running_mean, this.running_var].map((e) =>
      ctx.value(e),
    );
    if (ctx.mode === 'eval') return op.batchNormInference(x, gamma, beta, mean, variance, this.eps);

    const batch = x.graph.options.portable
      ? batchStatistics(x, gamma, beta, this.eps)
      : op.batchNormTraining(x, gamma, beta, this.eps);
    // PyTorch keeps the unbiased variance in running_var; the kernel returns the biased one.
    const [n, , h, w] = staticShape(x, 'BatchNormalization');
    const count = numel([n, h, w]);
    const m = this.momentum;
    const unbiased = op.mul(batch.variance, count / (count - 1));
    ctx.updateBuffer(this.running_mean, op.add(op.mul(mean, 1 - m), op.mul(batch.mean, m)));
    ctx.updateBuffer(this.running_var, op.add(op.mul(variance, 1 - m), op.mul(unbiased, m)));
    return batch.y;
  }
}

/**
 * Training-mode BatchNormalization written as reductions and arithmetic, for portable graphs
 * (WebGPU runs no BatchNormalization in training mode): the batch mean and biased variance per
 * channel, and y = gamma (x - mean) / sqrt(var + eps) + beta. Autodiff differentiates it through
 * the statistics, as the fused op's gradient rule does by hand.
 */
function batchStatistics(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): op.BatchNormTraining {
  const axes = [0, 2, 3];
  const channels = staticShape(gamma, 'BatchNormalization')[0];
  const perChannel = (t: Tensor) => op.reshape(t, [1, channels, 1, 1]);
  const mean = op.reduceMean(x, axes);
  const centered = op.sub(x, perChannel(mean));
  const variance = op.reduceMean(op.mul(centered, centered), axes);
  const scale = op.div(gamma, op.sqrt(op.add(variance, eps)));
  return { y: op.add(op.mul(centered, perChannel(scale)), perChannel(beta)), mean, variance };
}
