/** Activations, as torch.nn's: ReLU, LeakyReLU (negative_slope 0.01), Tanh, Sigmoid. */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return op.relu(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  override describe(): string {
    return `LeakyReLU ${this.negativeSlope}`;
  }

  forward(x: Tensor): Tensor {
    return op.leakyRelu(x, this.negativeSlope);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return op.tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return op.sigmoid(x);
  }
}
