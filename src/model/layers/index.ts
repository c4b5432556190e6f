/** Every layer, named and shaped as in torch.nn. */
export { GELU, Hardsigmoid, Hardswish, LeakyReLU, ReLU, Sigmoid, SiLU, Tanh } from './activation.js';
export {
  type AttentionOptions,
  type EncoderLayerOptions,
  MultiheadAttention,
  TransformerEncoderLayer,
} from './attention.js';
export { BatchNorm2d, type BatchNormOptions } from './batch-norm.js';
export { Residual, Sequential } from './containers.js';
export { Conv2d, type Conv2dOptions } from './conv.js';
export { Dropout } from './dropout.js';
export { GroupNorm, LayerNorm, type NormOptions } from './sample-norm.js';
export type { Size2 } from './init.js';
export { Linear } from './linear.js';
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, type PoolOptions } from './pooling.js';
export { GRU, LSTM, type RecurrentOptions } from './recurrent.js';
export { Flatten, Identity } from './reshape.js';
export { LogSoftmax } from './softmax.js';
