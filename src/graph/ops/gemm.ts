/** Gemm: Y = alpha * op(A) op(B) + beta * C, op = optional transpose. Conv's dW uses it. */
import { defineOp, emit, required, shapeError, type Tensor } from '../builder.js';
import { broadcastShapes } from '../shape.js';
import { mul } from './arithmetic.js';
import { sumTo } from './reduce.js';

interface GemmAttrs {
  transA: number;
  transB: number;
  alpha?: number;
  beta?: number;
  [key: string]: number | undefined;
}

const Gemm = defineOp<GemmAttrs>({
  type: 'Gemm',
  since: 11,
  attrs: { transA: 'int', transB: 'int', alpha: 'float', beta: 'float' },
  infer: ([a, b, c], { transA, transB }) => {
    const A = required(a, 'Gemm', 'A');
    const B = required(b, 'Gemm', 'B');
    if (A.rank !== 2 || B.rank !== 2) throw shapeError('Gemm', 'A and B must be matrices', A, B);
    const [m, k] = transA ? [A.shape[1], A.shape[0]] : A.shape;
    const [k2, n] = transB ? [B.shape[1], B.shape[0]] : B.shape;
    if (k !== k2) throw shapeError('Gemm', `inner dimensions ${k} and ${k2} differ`, A, B);
    if (c && !broadcastShapes(c.shape, [m, n])) throw shapeError('Gemm', 'C does not broadcast to the product', c);
    return [{ dtype: A.dtype, shape: [m, n] }];
  },
  gradient: ({ inputs: [a, b, c], attrs }, [dy]) => {
    const { transA, transB } = attrs;
    const g = attrs.alpha === undefined || attrs.alpha === 1 ? dy! : mul(dy!, attrs.alpha);
    const dA = transA ? gemm(b!, g, { transA: transB, transB: 1 }) : gemm(g, b!, { transB: 1 - transB });
    const dB = transB ? gemm(g, a!, { transA: 1, transB: transA }) : gemm(a!, g, { transA: 1 - transA });
    const dC = c && sumTo(attrs.beta === undefined || attrs.beta === 1 ? dy! : mul(dy!, attrs.beta), c.shape);
    return [dA, dB, dC];
  },
});

export function gemm(a: Tensor, b: Tensor, opts: { transA?: number; transB?: number; c?: Tensor } = {}): Tensor {
  return emit(Gemm, [a, b, opts.c], { transA: opts.transA ?? 0, transB: opts.transB ?? 0 })[0];
}
