/** Every op, as functions that read like the math: `op.conv(x, w, b, { pads })`. */
export { add, cast, div, exp, mul, neg, type Operand, pow, sqrt, sub } from './arithmetic.js';
export { batchNormInference, batchNormTraining, type BatchNormTraining } from './batch_norm.js';
export { argMax, equal, greater, where } from './compare.js';
export { conv, type ConvOptions } from './conv.js';
export { matmul } from './matmul.js';
export { globalAveragePool } from './global_average_pool.js';
export { logSoftmax } from './log_softmax.js';
export { maxPool, maxPoolWithIndices } from './max_pool.js';
export { nllLoss } from './nll_loss.js';
export { expand, reduceSum, sumTo } from './reduce.js';
export { reduceMean } from './reduce_mean.js';
export { relu } from './relu.js';
export { softmax } from './softmax.js';
export { concat, flatten, identity, pad, reshape, slice, transpose, unsqueeze } from './shape.js';
