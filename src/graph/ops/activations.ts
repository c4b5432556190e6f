/**
 * Pointwise nonlinearities other than Relu (relu.ts), each with its derivative written from
 * its output or input:
 *   LeakyRelu: dx = dy * (x > 0 ? 1 : alpha)
 *   Tanh:      dx = dy * (1 - y^2)
 *   Sigmoid:   dx = dy * y * (1 - y)
 *   Clip:      dx = dy where min < x < max, 0 elsewhere (ReLU6 is Clip(0, 6))
 *   Softplus:  dx = dy * sigmoid(x)   (y = log(1 + exp(x)); ORT computes it stably for large |x|)
 */
import { defineOp, emit, sameAsInput, type Tensor } from '../builder.js';

const LeakyRelu = defineOp<[X: Tensor], { alpha: number }>({
  type: 'LeakyRelu',
  since: 6,
  attrs: { alpha: 'float' },
  infer: sameAsInput,
  gradient: ({ inputs: [x], attrs: { alpha } }, [dy], op) => {
    const slope = op.where(
      op.greater(x, x.graph.scalar(0, x.dtype)),
      x.graph.scalar(1, x.dtype),
      x.graph.scalar(alpha, x.dtype),
    );
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

const Softplus = defineOp<[X: Tensor]>({
  type: 'Softplus',
  since: 1,
  attrs: {},
  infer: sameAsInput,
  gradient: ({ inputs: [x] }, [dy], op) => [op.mul(dy, op.sigmoid(x))],
});

// min and max are optional inputs (opset 11+), scalars.
const Clip = defineOp<[input: Tensor, min?: Tensor, max?: Tensor]>({
  type: 'Clip',
  since: 11,
  attrs: {},
  infer: sameAsInput,
  gradient: ({ inputs: [x, min, max] }, [dy], op) => {
    const zero = x.graph.scalar(0, x.dtype);
    let passed = dy;
    if (min) passed = op.where(op.greater(x, min), passed, zero);
    if (max) passed = op.where(op.greater(max, x), passed, zero);
    return [passed, undefined, undefined];
  },
});

/** x limited to [min, max] (either bound may be left out). */
export function clip(x: Tensor, min?: number, max?: number): Tensor {
  const bound = (v: number | undefined) => (v === undefined ? undefined : x.graph.scalar(v, x.dtype));
  const inputs: [Tensor, Tensor?, Tensor?] =
    max === undefined
      ? min === undefined
        ? [x]
        : [x, bound(min)]
      : [x, bound(min) ?? x.graph.scalar(-3.4028234663852886e38, x.dtype), bound(max)];
  return emit(Clip, inputs, {})[0];
}

/** max(x, 0) + alpha * min(x, 0); PyTorch's negative_slope defaults to 0.01 (ONNX's alpha to 0.01 too). */
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => emit(LeakyRelu, [x], { alpha })[0];
export const tanh = (x: Tensor): Tensor => emit(Tanh, [x], {})[0];
export const sigmoid = (x: Tensor): Tensor => emit(Sigmoid, [x], {})[0];
export const softplus = (x: Tensor): Tensor => emit(Softplus, [x], {})[0];

declare module '../builder.js' {
  interface Ops {
    clip: typeof clip;
    leakyRelu: typeof leakyRelu;
    tanh: typeof tanh;
    sigmoid: typeof sigmoid;
    softplus: typeof softplus;
  }
}
