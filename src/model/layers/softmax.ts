/**
 * LogSoftmax, as torch.nn.LogSoftmax (dim 1 here by default, PyTorch's implicit choice for
 * [N, classes]). A network that ends in it trains with the negative log-likelihood; one that
 * ends in logits trains with cross-entropy (model/graphs.ts adds the log-softmax there).
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import { Module } from '../module.js';

export class LogSoftmax extends Module {
  constructor(readonly dim = 1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return op.logSoftmax(x, this.dim);
  }
}
