/**
 * Activations, as torch.nn's: ReLU, LeakyReLU (negative_slope 0.01), Tanh, Sigmoid, SiLU, GELU
 * (exact or tanh), Hardsigmoid, Hardswish. The composite ones are functions too (as
 * torch.nn.functional's), which the ONNX importer uses for the same ops in a file.
 */
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

/** max(0, min(1, alpha x + beta)); PyTorch's Hardsigmoid is alpha 1/6, beta 1/2 (ONNX's default alpha is 0.2). */
export const hardSigmoid = (x: Tensor, alpha = 1 / 6, beta = 0.5): Tensor =>
  op.clip(op.add(op.mul(x, alpha), beta), 0, 1);

/** x hardsigmoid(x), MobileNetV3's activation. */
export const hardSwish = (x: Tensor): Tensor => op.mul(x, hardSigmoid(x));

/** x sigmoid(x) (Swish), EfficientNet's activation. */
const silu = (x: Tensor): Tensor => op.mul(x, op.sigmoid(x));

/**
 * GELU: x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, or PyTorch's approximate='tanh',
 * x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2.
 */
function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  const inner =
    approximate === 'tanh'
      ? op.tanh(op.mul(op.add(x, op.mul(op.mul(op.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI)))
      : op.erf(op.mul(x, Math.SQRT1_2));
  return op.mul(op.mul(x, op.add(inner, 1)), 0.5);
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }

  override describe(): string {
    return this.approximate === 'tanh' ? 'GELU tanh' : 'GELU';
  }

  forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }
}

export class Hardsigmoid extends Module {
  forward(x: Tensor): Tensor {
    return hardSigmoid(x);
  }
}

export class Hardswish extends Module {
  forward(x: Tensor): Tensor {
    return hardSwish(x);
  }
}
