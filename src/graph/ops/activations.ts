/**
 * Pointwise nonlinearities other than Relu (relu.ts), each with its derivative written from
 * its output or input:
 *   LeakyRelu: dx = dy * (x > 0 ? 1 : alpha)
 *   Tanh:      dx = dy * (1 - y^2)
 *   Sigmoid:   dx = dy * y * (1 - y)
 */
import { defineOp, emit, sameAsInput, type Tensor } from '../builder.js';

const LeakyRelu = defineOp<[X: Tensor], { alpha: number }>({
  type: 'LeakyRelu',
  since: 6,
  attrs: { alpha: 'float' },
  infer: sameAsInput,
  gradient: ({ inputs: [x], attrs: { alpha } }, [dy], op) => {
    const slope = op.where(op.greater(x, x.graph.scalar(0, x.dtype)), x.graph.scalar(1, x.dtype), x.graph.scalar(alpha, x.dtype));
    return [op.mul(dy, slope)];
  },
});

const Tanh = defineOp<[input: Tensor]>({
  type: 'Tanh',
  since: 6,
  attrs: {},
  infer: sameAsInput,
  gradient: ({ outputs: [y] }, [dy], op) => [op.mul(dy, op.sub(1, op.mul(y, y)))],
});

const Sigmoid = defineOp<[X: Tensor]>({
  type: 'Sigmoid',
  since: 6,
  attrs: {},
  infer: sameAsInput,
  gradient: ({ outputs: [y] }, [dy], op) => [op.mul(dy, op.mul(y, op.sub(1, y)))],
});

/** max(x, 0) + alpha * min(x, 0); PyTorch's negative_slope defaults to 0.01 (ONNX's alpha to 0.01 too). */
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => emit(LeakyRelu, [x], { alpha })[0];
export const tanh = (x: Tensor): Tensor => emit(Tanh, [x], {})[0];
export const sigmoid = (x: Tensor): Tensor => emit(Sigmoid, [x], {})[0];

declare module '../builder.js' {
  interface Ops {
    leakyRelu: typeof leakyRelu;
    tanh: typeof tanh;
    sigmoid: typeof sigmoid;
  }
}
