/**
 * Optimizer updates emitted into the training-step graph, with PyTorch's semantics.
 *
 * SGD (torch.optim.SGD, dampening 0):
 *   g' = g + wd * p;  v = m * v + g';  p = p - lr * (nesterov ? g' + m * v : v)
 * Adam / AdamW (torch.optim.Adam / AdamW), t = step starting at 1:
 *   Adam adds wd * p to g; AdamW multiplies p by (1 - lr * wd) first.
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
import type { Tensor } from './builder.js';
import * as op from './ops/index.js';

export interface SgdOptions {
  kind: 'sgd';
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

export interface AdamOptions {
  kind: 'adam' | 'adamw';
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export type OptimizerOptions = SgdOptions | AdamOptions;

/** Per-parameter state the optimizer keeps, named as in PyTorch's optimizer state_dict. */
export function optimizerSlots(opts: OptimizerOptions): string[] {
  if (opts.kind === 'sgd') return opts.momentum === 0 ? [] : ['momentum_buffer'];
  return ['exp_avg', 'exp_avg_sq'];
}

export interface UpdateInputs {
  /** Learning rate, a scalar graph input so that schedules live in TypeScript. */
  lr: Tensor;
  /** Step number t >= 1 (float scalar), for Adam's bias correction. */
  step?: Tensor;
}

export interface Updated {
  param: Tensor;
  slots: Tensor[];
}

export function optimizerUpdate(
  opts: OptimizerOptions,
  param: Tensor,
  grad: Tensor,
  slots: readonly Tensor[],
  { lr, step }: UpdateInputs,
): Updated {
  if (opts.kind === 'sgd') {
    const g = opts.weightDecay ? op.add(grad, op.mul(param, opts.weightDecay)) : grad;
    if (opts.momentum === 0) return { param: op.sub(param, op.mul(g, lr)), slots: [] };
    const v = op.add(op.mul(slots[0], opts.momentum), g);
    const direction = opts.nesterov ? op.add(g, op.mul(v, opts.momentum)) : v;
    return { param: op.sub(param, op.mul(direction, lr)), slots: [v] };
  }
  if (!step) throw new Error('Adam needs the step number as a graph input');
  const { beta1, beta2, eps, weightDecay } = opts;
  const decoupled = opts.kind === 'adamw';
  const p = decoupled && weightDecay ? op.mul(param, op.sub(1, op.mul(lr, weightDecay))) : param;
  const g = !decoupled && weightDecay ? op.add(grad, op.mul(param, weightDecay)) : grad;
  const m = op.add(op.mul(slots[0], beta1), op.mul(g, 1 - beta1));
  const v = op.add(op.mul(slots[1], beta2), op.mul(op.mul(g, g), 1 - beta2));
  const bc1 = op.sub(1, op.pow(beta1, step));
  const bc2 = op.sub(1, op.pow(beta2, step));
  const denom = op.add(op.div(op.sqrt(v), op.sqrt(bc2)), eps);
  return { param: op.sub(p, op.mul(op.div(lr, bc1), op.div(m, denom))), slots: [m, v] };
}
