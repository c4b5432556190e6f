/**
 * ONNX's LSTM and GRU (forward, reverse or bidirectional; the default activations), unrolled over
 * the sequence by the layers' cell arithmetic (layers/recurrent.ts) into ops that have gradients.
 * nn.LSTM and nn.GRU export so: a training-mode export keeps `weight_ih_l0` (and `_reverse`) and
 * the others under their names and reorders PyTorch's gates into ONNX's with Slices and Concats
 * that are part of the graph, so the weights train and save under PyTorch's names.
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import type { Dim } from '../../graph/shape.js';
import {
  type CellState,
  type CellWeights,
  gruCells,
  lstmCells,
  ONNX_GRU,
  ONNX_LSTM,
  stackSteps,
  type Unrolled,
} from '../layers/recurrent.js';

export interface RecurrentWeights {
  /** [D, G*H, I]: D directions, G gates (LSTM 4, GRU 3) in ONNX's order. */
  w: Tensor;
  /** [D, G*H, H]. */
  r: Tensor;
  /** [D, 2*G*H]: W's biases, then R's; absent means zeros. */
  b?: Tensor;
}

export interface RecurrentState {
  /** [D, N, H]; absent means zeros (nn.LSTM / nn.GRU without a given state). */
  h?: Tensor;
  /** The LSTM's cell state, [D, N, H]. */
  c?: Tensor;
}

export type Direction = 'forward' | 'reverse' | 'bidirectional';

/** Row d of a [D, ...] tensor, reshaped. */
const row = (t: Tensor, d: number, shape: Dim[]) => op.reshape(op.slice(t, [d], [d + 1], [0]), shape);

/** Direction d's weights and initial state, as the cell arithmetic takes them. */
function directionInputs(
  { w, r, b }: RecurrentWeights,
  { h, c }: RecurrentState,
  d: number,
  hidden: number,
  batch: Dim,
): [CellWeights, CellState] {
  const gates = w.shape[1];
  if (typeof gates !== 'number') throw new Error('the weights must have a fixed shape');
  const biases = b && row(b, d, [2 * gates]);
  const weights = {
    w: row(w, d, [gates, -1]),
    r: row(r, d, [gates, hidden]),
    wBias: biases && op.slice(biases, [0], [gates], [0]),
    rBias: biases && op.slice(biases, [gates], [2 * gates], [0]),
  };
  const state = (s: Tensor | undefined) => s && row(s, d, [batch, hidden]);
  return [weights, { h: state(h), c: state(c) }];
}

/** Y [T, D, N, H], Y_h [D, N, H] (and the LSTM's Y_c) from each direction's unrolled steps. */
function outputs(runs: Unrolled[], lstm: boolean): Tensor[] {
  const last = (s: (u: Unrolled) => Tensor | undefined) =>
    op.concat(
      runs.map((u) => {
        const t = s(u);
        if (!t) throw new Error('LSTM: no cell state');
        return op.unsqueeze(t, [0]);
      }),
      0,
    );
  const y = op.concat(
    runs.map((u) => op.unsqueeze(stackSteps(u.hs), [1])),
    1,
  );
  return lstm ? [y, last((u) => u.h), last((u) => u.c)] : [y, last((u) => u.h)];
}

/** Y, Y_h (and Y_c) of ONNX's LSTM or GRU on x [T, N, I]. */
function unrollAll(
  kind: 'LSTM' | 'GRU',
  x: Tensor,
  weights: RecurrentWeights,
  hidden: number,
  initial: RecurrentState,
  direction: Direction,
): Tensor[] {
  const reverses = direction === 'bidirectional' ? [false, true] : [direction === 'reverse'];
  const batch = x.shape[1];
  const runs = reverses.map((reverse, d) => {
    const [w, s] = directionInputs(weights, initial, d, hidden, batch);
    return kind === 'LSTM'
      ? lstmCells(x, w, hidden, ONNX_LSTM, s, reverse)
      : gruCells(x, w, hidden, ONNX_GRU, s, reverse);
  });
  return outputs(runs, kind === 'LSTM');
}

export const lstm = (x: Tensor, w: RecurrentWeights, hidden: number, initial: RecurrentState, direction: Direction) =>
  unrollAll('LSTM', x, w, hidden, initial, direction);

export const gru = (x: Tensor, w: RecurrentWeights, hidden: number, initial: RecurrentState, direction: Direction) =>
  unrollAll('GRU', x, w, hidden, initial, direction);
