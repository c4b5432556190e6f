/**
 * BatchNormalization over N, H, W per channel.
 *
 * Training mode uses ORT's fused kernel with training_mode=1 and momentum=0, which makes its
 * 2nd and 3rd outputs the plain batch mean and the *biased* batch variance (the variance it
 * normalises with). The running statistics are updated by the caller, PyTorch-style, with the
 * unbiased variance (see BatchNorm2d in src/model/layers.ts).
 *
 * ORT's CPU kernel writes those outputs into the buffers of its mean and var *inputs* (even
 * graph inputs held by the caller; measured with onnxruntime-node 1.30 at every optimisation
 * level). With momentum 0 the inputs do not affect any output, so each training-mode node
 * gets private scratch initializers there, and the real running statistics never reach it.
 * Private means unlike any other constant too: ORT's optimizer merges equal small constants
 * (measured: up to 8 elements), and two BatchNorms handed one merged buffer overwrite each
 * other's statistics. So each scratch tensor of a shape holds a value no other holds: the k-th
 * pair of a shape in a graph holds 2k (mean) and 2k + 1 (var).
 *
 * The gradient is the full backward through the batch mean and variance, with s = 1/sqrt(var + eps),
 * xhat = (x - mean) s and M = N*H*W elements per channel:
 *   dbeta = sum(dy),  dgamma = sum(dy xhat) = s (sum(dy x) - mean dbeta)
 *   dx = gamma s (dy - dbeta/M - xhat dgamma/M)
 * regrouped as dx = k dy + a x + b with per-channel k, a, b, so that the full-size work is
 * two products, two sums and two multiply-adds (7 passes over x-sized tensors instead of 9).
 */
import { defineOp, emit, type Graph, shapeError, staticDim, staticShape, type Tensor } from '../builder.js';
import { countOver } from './helpers.js';

interface BatchNormAttrs {
  epsilon: number;
  momentum: number;
  training_mode: number;
}

// Outputs: Y, then (training mode only) the batch mean and variance.
const BatchNormalization = defineOp<
  [X: Tensor, scale: Tensor, B: Tensor, input_mean: Tensor, input_var: Tensor],
  BatchNormAttrs,
  readonly Tensor[]
>({
  type: 'BatchNormalization',
  since: 14,
  attrs: { epsilon: 'float', momentum: 'float', training_mode: 'int' },
  infer: ([x, ...params], { training_mode }) => {
    const c = x.shape[1];
    for (const p of params) {
      if (p.rank !== 1 || p.shape[0] !== c) {
        throw shapeError('BatchNormalization', `scale, bias, mean and var must be [${c}]`, x, p);
      }
    }
    const stat = { dtype: x.dtype, shape: [c] };
    return training_mode ? [{ dtype: x.dtype, shape: x.shape }, stat, stat] : [{ dtype: x.dtype, shape: x.shape }];
  },
  gradient: ({ inputs: [x, gamma], outputs: [, mean, variance], attrs }, [dy, dMean, dVar], op) => {
    if (!attrs.training_mode) throw new Error('BatchNormalization: gradient is implemented for training mode only');
    // Without dy, the gradient that reached this node came through the statistics.
    if (!dy || dMean || dVar)
      throw new Error('BatchNormalization: batch statistics are not differentiable outputs here');
    const perChannelAxes = [0, 2, 3]; // N, H, W: what each channel's statistics run over
    const m = countOver(x, perChannelAxes, 'BatchNormalization gradient');
    const channels = staticDim(x, 1, 'BatchNormalization gradient');
    const perChannel = (t: Tensor) => op.reshape(t, [1, channels, 1, 1]);
    const s = op.div(1, op.sqrt(op.add(variance, attrs.epsilon)));
    const dBeta = op.reduceSum(dy, perChannelAxes);
    const dGamma = op.mul(s, op.sub(op.reduceSum(op.mul(dy, x), perChannelAxes), op.mul(mean, dBeta)));
    const k = op.mul(gamma, s);
    const a = op.mul(k, op.mul(s, op.mul(dGamma, -1 / m)));
    const b = op.sub(op.mul(k, op.mul(dBeta, -1 / m)), op.mul(a, mean));
    const dx = op.add(op.add(op.mul(dy, perChannel(k)), op.mul(x, perChannel(a))), perChannel(b));
    return [dx, dGamma, dBeta, undefined, undefined];
  },
});

export interface BatchNormTraining {
  y: Tensor;
  /** Batch mean per channel. */
  mean: Tensor;
  /** Biased batch variance per channel (divided by N*H*W). */
  variance: Tensor;
}

/** How many scratch pairs of each channel count a graph has so far. */
const scratchPairs = new WeakMap<Graph, Map<number, number>>();

/** Normalises with batch statistics (training). */
export function batchNormTraining(x: Tensor, gamma: Tensor, beta: Tensor, epsilon = 1e-5): BatchNormTraining {
  const c = staticShape(gamma, 'BatchNormalization');
  const counts = scratchPairs.get(x.graph) ?? new Map<number, number>();
  scratchPairs.set(x.graph, counts);
  const k = counts.get(c[0]) ?? 0;
  counts.set(c[0], k + 1);
  const scratch = (what: string, value: number) =>
    x.graph.constant(x.dtype, c, new Array<number>(c[0]).fill(value), {
      shared: false,
      hint: `${gamma.name}.scratch_${what}`,
    });
  const [y, mean, variance] = emit(
    BatchNormalization,
    [x, gamma, beta, scratch('mean', 2 * k), scratch('var', 2 * k + 1)],
    {
      epsilon,
      momentum: 0,
      training_mode: 1,
    },
  );
  return { y, mean, variance };
}

/** Normalises with the running statistics (evaluation). */
export function batchNormInference(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  epsilon = 1e-5,
): Tensor {
  return emit(BatchNormalization, [x, gamma, beta, runningMean, runningVar], {
    epsilon,
    momentum: 0.9,
    training_mode: 0,
  })[0];
}

declare module '../builder.js' {
  interface Ops {
    batchNormTraining: typeof batchNormTraining;
    batchNormInference: typeof batchNormInference;
  }
}
