/**
 * Gemm: Y = alpha * A' B' + beta * C, with A' = transA ? A^T : A (B' likewise) and C
 * broadcast to [M, N]. PyTorch's Linear is Gemm(x, W, b, transB=1). Gradients, each again a Gemm:
 *   dA' = alpha dY B'^T   and   dB' = alpha A'^T dY   (transposed back where A or B was),
 *   dC  = beta * dY summed down to C's shape.
 */
import { defineOp, emit, type Ops, shapeError, type Tensor } from '../builder.js';
import { broadcastShapes } from '../shape.js';

interface GemmAttrs {
  alpha: number;
  beta: number;
  transA: number;
  transB: number;
}

function gemmGrads(op: Ops, a: Tensor, b: Tensor, dy: Tensor, { alpha, transA, transB }: GemmAttrs): [Tensor, Tensor] {
  const da = transA
    ? op.gemm(b, dy, { alpha, transA: transB === 1, transB: true })
    : op.gemm(dy, b, { alpha, transB: transB !== 1 });
  const db = transB
    ? op.gemm(dy, a, { alpha, transA: true, transB: transA === 1 })
    : op.gemm(a, dy, { alpha, transA: transA !== 1 });
  return [da, db];
}

const Gemm = defineOp<[A: Tensor, B: Tensor, C?: Tensor], GemmAttrs>({
  type: 'Gemm',
  since: 11,
  attrs: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' },
  infer: ([A, B, C], { transA, transB }) => {
    if (A.rank !== 2 || B.rank !== 2) throw shapeError('Gemm', 'A and B must be 2-D', A, B);
    const [m, k] = transA ? [A.shape[1], A.shape[0]] : A.shape;
    const [k2, n] = transB ? [B.shape[1], B.shape[0]] : B.shape;
    if (k !== k2) throw shapeError('Gemm', `inner dimensions ${k} and ${k2} differ`, A, B);
    if (C && !broadcastShapes(C.shape, [m, n])?.every((d, i) => d === [m, n][i]))
      throw shapeError('Gemm', `C does not broadcast to [${m},${n}]`, C);
    return [{ dtype: A.dtype, shape: [m, n] }];
  },
  gradient: ({ inputs: [a, b, c], attrs }, [dy], op) => {
    const [da, db] = gemmGrads(op, a, b, dy, attrs);
    return [da, db, c && op.sumTo(attrs.beta === 1 ? dy : op.mul(dy, attrs.beta), c.shape)];
  },
});

export interface GemmOptions {
  alpha?: number;
  beta?: number;
  transA?: boolean;
  transB?: boolean;
}

/** alpha * A' B' + beta * C for 2-D A and B. */
export function gemm(
  a: Tensor,
  b: Tensor,
  { alpha = 1, beta = 1, transA = false, transB = false }: GemmOptions = {},
  c?: Tensor,
): Tensor {
  return emit(Gemm, c ? [a, b, c] : [a, b], { alpha, beta, transA: transA ? 1 : 0, transB: transB ? 1 : 0 })[0];
}

declare module '../builder.js' {
  interface Ops {
    gemm: typeof gemm;
  }
}
