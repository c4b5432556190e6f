/**
 * MatMul with numpy batching: [..., m, k] x [..., k, n]. Gradients: dA = dY B^T, dB = A^T dY,
 * summed over broadcast batch dimensions. ORT fuses a Transpose of the last two axes into
 * the multiply (FusedMatMul), so `matmul(a, transpose(b))` costs no copy.
 */
import { defineOp, emit, shapeError, type Tensor } from '../builder.js';
import { broadcastShapes } from '../shape.js';

const MatMul = defineOp<[A: Tensor, B: Tensor]>({
  type: 'MatMul',
  since: 1,
  attrs: {},
  infer: ([A, B]) => {
    if (A.rank < 2 || B.rank < 2) throw shapeError('MatMul', 'operands must have rank >= 2', A, B);
    const [m, k] = A.shape.slice(-2);
    const [k2, n] = B.shape.slice(-2);
    if (k !== k2) throw shapeError('MatMul', `inner dimensions ${k} and ${k2} differ`, A, B);
    const batch = broadcastShapes(A.shape.slice(0, -2), B.shape.slice(0, -2));
    if (!batch) throw shapeError('MatMul', 'batch dimensions do not broadcast', A, B);
    return [{ dtype: A.dtype, shape: [...batch, m, n] }];
  },
  gradient: ({ inputs: [a, b] }, [dy], op) => [
    op.sumTo(op.matmul(dy, op.swapLast(b)), a.shape),
    op.sumTo(op.matmul(op.swapLast(a), dy), b.shape),
  ],
});

export const matmul = (a: Tensor, b: Tensor): Tensor => emit(MatMul, [a, b], {})[0];

declare module '../builder.js' {
  interface Ops {
    matmul: typeof matmul;
  }
}
