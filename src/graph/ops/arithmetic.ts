/**
 * Elementwise arithmetic with numpy broadcasting. Gradients of broadcast inputs are summed
 * back to the input's shape (`op.sumTo`).
 */
import { defineOp, emit, type OutputSpec, sameAsInput, shapeError, type Tensor } from '../builder.js';
import { type DType, dtypeFromOnnx, ONNX_DTYPE } from '../dtype.js';
import { broadcastShapes } from '../shape.js';

type Binary = [a: Tensor, b: Tensor];
type Unary = [x: Tensor];

function broadcastRule(op: string) {
  return ([a, b]: Binary): [OutputSpec] => {
    if (a.dtype !== b.dtype) throw shapeError(op, `element types differ (${a.dtype} vs ${b.dtype})`, a, b);
    const shape = broadcastShapes(a.shape, b.shape);
    if (!shape) throw shapeError(op, 'shapes do not broadcast', a, b);
    return [{ dtype: a.dtype, shape }];
  };
}

const Add = defineOp<Binary>({
  type: 'Add',
  since: 7,
  attrs: {},
  infer: broadcastRule('Add'),
  gradient: ({ inputs: [a, b] }, [dy], op) => [op.sumTo(dy, a.shape), op.sumTo(dy, b.shape)],
});

const Sub = defineOp<Binary>({
  type: 'Sub',
  since: 7,
  attrs: {},
  infer: broadcastRule('Sub'),
  gradient: ({ inputs: [a, b] }, [dy], op) => [op.sumTo(dy, a.shape), op.sumTo(op.neg(dy), b.shape)],
});

const Mul = defineOp<Binary>({
  type: 'Mul',
  since: 7,
  attrs: {},
  infer: broadcastRule('Mul'),
  gradient: ({ inputs: [a, b] }, [dy], op) => [op.sumTo(op.mul(dy, b), a.shape), op.sumTo(op.mul(dy, a), b.shape)],
});

const Div = defineOp<Binary>({
  type: 'Div',
  since: 7,
  attrs: {},
  infer: broadcastRule('Div'),
  // d(a/b) = da/b - a db/b^2 = (da - y db)/b
  gradient: ({ inputs: [a, b], outputs: [y] }, [dy], op) => {
    const da = op.div(dy, b);
    return [op.sumTo(da, a.shape), op.sumTo(op.neg(op.mul(da, y)), b.shape)];
  },
});

const Neg = defineOp<Unary>({
  type: 'Neg',
  since: 6,
  attrs: {},
  infer: sameAsInput,
  gradient: (_n, [dy], op) => [op.neg(dy)],
});

const Sqrt = defineOp<Unary>({
  type: 'Sqrt',
  since: 6,
  attrs: {},
  infer: sameAsInput,
  // d sqrt(x) = dx / (2 sqrt(x))
  gradient: ({ outputs: [y] }, [dy], op) => [op.div(dy, op.mul(y, y.graph.scalar(2, y.dtype)))],
});

const Exp = defineOp<Unary>({
  type: 'Exp',
  since: 6,
  attrs: {},
  infer: sameAsInput,
  gradient: ({ outputs: [y] }, [dy], op) => [op.mul(dy, y)],
});

const Log = defineOp<Unary>({
  type: 'Log',
  since: 6,
  attrs: {},
  infer: sameAsInput,
  gradient: ({ inputs: [x] }, [dy], op) => [op.div(dy, x)],
});

// Sign is piecewise constant: no gradient rule (it appears only inside Abs's gradient).
const Sign = defineOp<Unary>({
  type: 'Sign',
  since: 9,
  attrs: {},
  infer: sameAsInput,
});

const Abs = defineOp<Unary>({
  type: 'Abs',
  since: 6,
  attrs: {},
  infer: sameAsInput,
  // d|x| = sign(x) dx, 0 at 0 (as PyTorch's abs and l1_loss backward).
  gradient: ({ inputs: [x] }, [dy], op) => [op.mul(dy, op.sign(x))],
});

const Pow = defineOp<Binary>({
  type: 'Pow',
  since: 7,
  attrs: {},
  infer: broadcastRule('Pow'),
  // d(a^b) = b a^(b-1) da + a^b ln(a) db; the exponent's term is pruned where it is a constant (LayerNorm's x^2).
  gradient: ({ inputs: [a, b], outputs: [y] }, [dy], op) => [
    op.sumTo(op.mul(dy, op.mul(b, op.pow(a, op.sub(b, 1)))), a.shape),
    op.sumTo(op.mul(dy, op.mul(y, op.log(a))), b.shape),
  ],
});

const Erf = defineOp<Unary>({
  type: 'Erf',
  since: 9,
  attrs: {},
  infer: sameAsInput,
  // d erf(x) = 2/sqrt(pi) exp(-x^2) dx
  gradient: ({ inputs: [x] }, [dy], op) => [op.mul(dy, op.mul(op.exp(op.neg(op.mul(x, x))), 2 / Math.sqrt(Math.PI)))],
});

const Cast = defineOp<Unary, { to: number }>({
  type: 'Cast',
  since: 6,
  attrs: { to: 'int' },
  infer: ([x], { to }) => [{ dtype: dtypeFromOnnx(to), shape: x.shape }],
});

/** A tensor or a plain number (a scalar constant of the other operand's type). */
export type Operand = Tensor | number;

function pair(a: Operand, b: Operand): Binary {
  if (typeof a === 'number') {
    if (typeof b === 'number') throw new Error('at least one operand must be a tensor');
    return [b.graph.scalar(a, b.dtype), b];
  }
  return [a, typeof b === 'number' ? a.graph.scalar(b, a.dtype) : b];
}

export const add = (a: Operand, b: Operand): Tensor => emit(Add, pair(a, b), {})[0];
export const sub = (a: Operand, b: Operand): Tensor => emit(Sub, pair(a, b), {})[0];
export const mul = (a: Operand, b: Operand): Tensor => emit(Mul, pair(a, b), {})[0];
export const div = (a: Operand, b: Operand): Tensor => emit(Div, pair(a, b), {})[0];
export const pow = (a: Operand, b: Operand): Tensor => emit(Pow, pair(a, b), {})[0];
export const neg = (x: Tensor): Tensor => emit(Neg, [x], {})[0];
export const sqrt = (x: Tensor): Tensor => emit(Sqrt, [x], {})[0];
export const exp = (x: Tensor): Tensor => emit(Exp, [x], {})[0];
export const log = (x: Tensor): Tensor => emit(Log, [x], {})[0];
export const erf = (x: Tensor): Tensor => emit(Erf, [x], {})[0];
export const sign = (x: Tensor): Tensor => emit(Sign, [x], {})[0];
export const abs = (x: Tensor): Tensor => emit(Abs, [x], {})[0];
export const cast = (x: Tensor, to: DType): Tensor => emit(Cast, [x], { to: ONNX_DTYPE[to] })[0];

declare module '../builder.js' {
  interface Ops {
    add: typeof add;
    sub: typeof sub;
    mul: typeof mul;
    div: typeof div;
    pow: typeof pow;
    neg: typeof neg;
    sqrt: typeof sqrt;
    exp: typeof exp;
    log: typeof log;
    erf: typeof erf;
    sign: typeof sign;
    abs: typeof abs;
    cast: typeof cast;
  }
}
