/**
 * Every op, as functions that read like the math: `op.conv(x, w, b, { pads })`. Autodiff passes
 * this namespace to the gradient rules (as `Ops`, see builder.ts), so op files never import each other.
 */
export { clip, leakyRelu, sigmoid, softplus, tanh } from './activations.js';
export { abs, add, cast, div, erf, exp, log, mul, neg, type Operand, pow, sign, sqrt, sub } from './arithmetic.js';
export { averagePool, type AveragePoolOptions } from './average-pool.js';
export { batchNormInference, batchNormTraining, type BatchNormTraining } from './batch-norm.js';
export { argMax, equal, greater, where } from './compare.js';
export { conv, type ConvOptions, convTranspose } from './conv.js';
export { gemm, type GemmOptions } from './gemm.js';
export { matmul } from './matmul.js';
export { globalAveragePool } from './global-average-pool.js';
export { logSoftmax } from './log-softmax.js';
export { maxPool, maxPoolWithIndices, type PoolOptions } from './max-pool.js';
export { nllLoss } from './nll-loss.js';
export { reduceMean, reduceSum } from './reduce.js';
export { sumTo } from './broadcast.js';
export { relu } from './relu.js';
export { softmax } from './softmax.js';
export {
  concat,
  depthToSpace,
  expand,
  flatten,
  identity,
  pad,
  reshape,
  slice,
  swapLast,
  transpose,
  unsqueeze,
} from './movement.js';
