/**
 * NegativeLogLikelihoodLoss with mean reduction: loss = -mean_n logp[n, target[n]].
 * Gradient: dlogp = -dy / N at each row's target class, 0 elsewhere (a one-hot mask).
 */
import { defineOp, emit, shapeError, staticShape, type Tensor } from '../builder.js';

const NegativeLogLikelihoodLoss = defineOp<[input: Tensor, target: Tensor], { reduction: string }>({
  type: 'NegativeLogLikelihoodLoss',
  since: 13,
  attrs: { reduction: 'string' },
  infer: ([x, t]) => {
    if (x.rank !== 2 || t.rank !== 1 || t.dtype !== 'int64' || x.shape[0] !== t.shape[0]) {
      throw shapeError('NegativeLogLikelihoodLoss', 'expects input [N,C] and int64 target [N]', x, t);
    }
    return [{ dtype: x.dtype, shape: [] }];
  },
  gradient: ({ inputs: [logp, target] }, [dy], op) => {
    const [n, classes] = staticShape(logp, 'NegativeLogLikelihoodLoss gradient');
    const onehot = op.cast(op.equal(op.unsqueeze(target, [1]), classRange(target, classes)), logp.dtype);
    return [op.mul(onehot, op.mul(dy, -1 / n)), undefined];
  },
});

/** The int64 row vector [0, 1, ..., classes-1]. */
function classRange(like: Tensor, classes: number): Tensor {
  return like.graph.constant('int64', [1, classes], [...Array(classes).keys()]);
}

/** Mean negative log-likelihood of `target` (int64 class indices) under log-probabilities. */
export const nllLoss = (logProbs: Tensor, target: Tensor): Tensor =>
  emit(NegativeLogLikelihoodLoss, [logProbs, target], { reduction: 'mean' })[0];

declare module '../builder.js' {
  interface Ops {
    nllLoss: typeof nllLoss;
  }
}
