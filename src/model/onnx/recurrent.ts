/**
 * ONNX's LSTM and GRU (one direction, the default activations), unrolled over the sequence into
 * ops that have gradients: one MatMul of the whole input by W, then per step a MatMul of the
 * hidden state by R and the gate arithmetic. nn.LSTM and nn.GRU export so: a training-mode
 * export keeps `weight_ih_l0` and the others under their names and reorders PyTorch's gates into
 * ONNX's with Slices and Concats that are part of the graph, so the weights train and save under
 * PyTorch's names.
 *
 * LSTM (gates i, o, f, c):  i, o, f = sigmoid(x W' + h R' + b)   c~ = tanh(x Wc' + h Rc' + bc)
 *                           C = f C + i c~   H = o tanh(C)
 * GRU (gates z, r, h; PyTorch's linear_before_reset):  z, r = sigmoid(x W' + h R' + b)
 *                           h~ = tanh(x Wh' + Wbh + r (h Rh' + Rbh))   H = (1 - z) h~ + z H
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';

export interface RecurrentWeights {
  /** [1, G*H, I]: G gates (LSTM 4, GRU 3) in ONNX's order. */
  w: Tensor;
  /** [1, G*H, H]. */
  r: Tensor;
  /** [1, 2*G*H]: W's biases, then R's; absent means zeros. */
  b?: Tensor;
}

export interface RecurrentState {
  /** [1, N, H]; absent means zeros (nn.LSTM / nn.GRU without a given state). */
  h?: Tensor;
  /** The LSTM's cell state, [1, N, H]. */
  c?: Tensor;
}

/** The parts every step reads: the input's part of the gates [T, N, G*H] (W's bias in it), R' and R's bias. */
function unrollParts(x: Tensor, { w, r, b }: RecurrentWeights, hidden: number, gateCount: number) {
  const gates = gateCount * hidden;
  const biases = b && op.reshape(b, [2 * gates]);
  const wBias = biases && op.slice(biases, [0], [gates], [0]);
  const rBias = biases && op.slice(biases, [gates], [2 * gates], [0]);
  const product = op.matmul(x, op.transpose(op.reshape(w, [gates, -1]), [1, 0]));
  const inputPart = wBias ? op.add(product, wBias) : product; // once for the whole sequence, sliced per step
  const steps = x.shape[0];
  if (typeof steps !== 'number') throw new Error('the sequence length must be fixed');
  const [, batch] = x.shape;
  return {
    steps,
    fromInput: (t: number) => op.reshape(op.slice(inputPart, [t], [t + 1], [0]), [batch, gates]),
    recurrent: op.transpose(op.reshape(r, [gates, hidden]), [1, 0]),
    rBias,
    gate: (all: Tensor, k: number) => op.slice(all, [k * hidden], [(k + 1) * hidden], [1]),
    initial: (s: Tensor | undefined) => s && op.reshape(s, [batch, hidden]),
  };
}

/** Y [T, 1, N, H] from each step's H [N, H]; Y_h (and Y_c) [1, N, H]. */
const outputs = (hs: Tensor[], ...last: Tensor[]): Tensor[] => [
  op.concat(
    hs.map((h) => op.unsqueeze(h, [0, 1])),
    0,
  ),
  ...last.map((s) => op.unsqueeze(s, [0])),
];

/** Y, Y_h, Y_c of ONNX's LSTM on x [T, N, I]. */
export function lstm(x: Tensor, weights: RecurrentWeights, hidden: number, initial: RecurrentState): Tensor[] {
  const { steps, fromInput, recurrent, rBias, gate, initial: start } = unrollParts(x, weights, hidden, 4);
  let h = start(initial.h);
  let c = start(initial.c);
  const hs: Tensor[] = [];
  for (let t = 0; t < steps; t++) {
    const withBias = rBias ? op.add(fromInput(t), rBias) : fromInput(t);
    const all = h ? op.add(withBias, op.matmul(h, recurrent)) : withBias;
    const [i, o, f] = [0, 1, 2].map((k) => op.sigmoid(gate(all, k)));
    const candidate = op.mul(i, op.tanh(gate(all, 3)));
    c = c ? op.add(op.mul(f, c), candidate) : candidate;
    h = op.mul(o, op.tanh(c));
    hs.push(h);
  }
  if (!h || !c) throw new Error('LSTM: an empty sequence');
  return outputs(hs, h, c);
}

/** Y, Y_h of ONNX's GRU (linear_before_reset, as PyTorch's) on x [T, N, I]. */
export function gru(x: Tensor, weights: RecurrentWeights, hidden: number, initial: RecurrentState): Tensor[] {
  const { steps, fromInput, recurrent, rBias, gate, initial: start } = unrollParts(x, weights, hidden, 3);
  let h = start(initial.h);
  const hs: Tensor[] = [];
  for (let t = 0; t < steps; t++) {
    const inputGates = fromInput(t);
    const fromHidden = h && op.matmul(h, recurrent);
    const hiddenGates = fromHidden && rBias ? op.add(fromHidden, rBias) : (fromHidden ?? rBias);
    const sum = hiddenGates ? op.add(inputGates, hiddenGates) : inputGates;
    const [z, r] = [0, 1].map((k) => op.sigmoid(gate(sum, k)));
    const reset = hiddenGates ? op.mul(r, gate(hiddenGates, 2)) : undefined;
    const candidate = op.tanh(reset ? op.add(gate(inputGates, 2), reset) : gate(inputGates, 2));
    // H = (1 - z) h~ + z H = h~ + z (H - h~)
    h = op.add(candidate, op.mul(z, h ? op.sub(h, candidate) : op.neg(candidate)));
    hs.push(h);
  }
  if (!h) throw new Error('GRU: an empty sequence');
  return outputs(hs, h);
}
