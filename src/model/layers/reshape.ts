/** Layers that only reshape or pass on, as torch.nn's: Flatten (start_dim 1, end_dim -1), Identity. */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import { normalizeAxis } from '../../graph/shape.js';
import { Module } from '../module.js';

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    const start = normalizeAxis(this.startDim, x.rank);
    const end = normalizeAxis(this.endDim, x.rank);
    if (end === x.rank - 1) return op.flatten(x, start); // ONNX's Flatten: everything from `start` into one dim
    return op.reshape(x, [...x.shape.slice(0, start), -1, ...x.shape.slice(end + 1)]);
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
