/**
 * LSTM and GRU, as torch.nn's, and the unrolled cell arithmetic they share with the ONNX
 * importer's LSTM and GRU (onnx/recurrent.ts): one MatMul of the whole sequence by W, then per
 * step a MatMul of the hidden state by R and the gate arithmetic, all ops with gradients.
 * PyTorch and ONNX hold the same gates in different orders, so the order is an argument.
 *
 * LSTM:  i, f, o = sigmoid(x Wg' + bWg + h Rg' + bRg)   g = tanh(x Wg' + bWg + h Rg' + bRg)
 *        c = f c + i g   h = o tanh(c)
 * GRU (PyTorch's form, ONNX's linear_before_reset):  r, z = sigmoid(x Wg' + bWg + h Rg' + bRg)
 *        n = tanh(x Wn' + bWn + r (h Rn' + bRn))   h = (1 - z) n + z h
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import type { Shape } from '../../graph/shape.js';
import { type Context, LayerInputError, Module, Parameter } from '../module.js';
import { uniform } from './init.js';

/** One direction of one layer, 2-D as PyTorch holds it: w [G*H, I], r [G*H, H], biases [G*H] (absent: zeros). */
export interface CellWeights {
  w: Tensor;
  r: Tensor;
  wBias?: Tensor;
  rBias?: Tensor;
}

/** Which block of G*H rows of W and R each gate is. */
export interface LstmGates {
  i: number;
  f: number;
  g: number;
  o: number;
}
export interface GruGates {
  r: number;
  z: number;
  n: number;
}
export const TORCH_LSTM: LstmGates = { i: 0, f: 1, g: 2, o: 3 };
export const ONNX_LSTM: LstmGates = { i: 0, o: 1, f: 2, g: 3 };
export const TORCH_GRU: GruGates = { r: 0, z: 1, n: 2 };
export const ONNX_GRU: GruGates = { z: 0, r: 1, n: 2 };

/** A direction's state, [N, H] each; absent means zeros (PyTorch's default). */
export interface CellState {
  h?: Tensor;
  c?: Tensor;
}

/** A direction unrolled: each step's h [N, H] in time order (whichever way it ran), and the last state. */
export interface Unrolled {
  hs: Tensor[];
  h: Tensor;
  c?: Tensor;
}

/** The parts every step reads: the input's part of the gates [T, N, G*H] (W's bias in it), R', a gate's slice. */
function unrollParts(x: Tensor, { w, r, wBias }: CellWeights, hidden: number, reverse: boolean) {
  const product = op.matmul(x, op.transpose(w, [1, 0]));
  const inputPart = wBias ? op.add(product, wBias) : product; // once for the whole sequence, sliced per step
  const [steps, batch] = x.shape;
  const rows = w.shape[0];
  if (typeof steps !== 'number') throw new LayerInputError('the sequence length must be fixed');
  const order = [...Array(steps).keys()];
  return {
    order: reverse ? order.reverse() : order,
    fromInput: (t: number) => op.reshape(op.slice(inputPart, [t], [t + 1], [0]), [batch, rows]),
    recurrent: op.transpose(r, [1, 0]),
    // the last axis: [N, G*H], or R's bias [G*H] alone at the first step from a zero state
    gate: (all: Tensor, k: number) => op.slice(all, [k * hidden], [(k + 1) * hidden], [all.rank - 1]),
  };
}

/** An LSTM direction over x [T, N, I]; `reverse` runs from the last step to the first (the backward direction). */
export function lstmCells(
  x: Tensor,
  weights: CellWeights,
  hidden: number,
  gates: LstmGates,
  initial: CellState = {},
  reverse = false,
): Unrolled {
  const { order, fromInput, recurrent, gate } = unrollParts(x, weights, hidden, reverse);
  let { h, c } = initial;
  const hs: Tensor[] = [];
  for (const t of order) {
    const withBias = weights.rBias ? op.add(fromInput(t), weights.rBias) : fromInput(t);
    const all = h ? op.add(withBias, op.matmul(h, recurrent)) : withBias;
    const [i, f, o] = [gates.i, gates.f, gates.o].map((k) => op.sigmoid(gate(all, k)));
    const candidate = op.mul(i, op.tanh(gate(all, gates.g)));
    c = c ? op.add(op.mul(f, c), candidate) : candidate;
    h = op.mul(o, op.tanh(c));
    hs[t] = h;
  }
  if (!h || !c) throw new LayerInputError('LSTM: an empty sequence');
  return { hs, h, c };
}

/** A GRU direction over x [T, N, I] (PyTorch's form: R's part of n reset after its bias). */
export function gruCells(
  x: Tensor,
  weights: CellWeights,
  hidden: number,
  gates: GruGates,
  initial: CellState = {},
  reverse = false,
): Unrolled {
  const { order, fromInput, recurrent, gate } = unrollParts(x, weights, hidden, reverse);
  const { rBias } = weights;
  let { h } = initial;
  const hs: Tensor[] = [];
  for (const t of order) {
    const inputGates = fromInput(t);
    const fromHidden = h && op.matmul(h, recurrent);
    const hiddenGates = fromHidden && rBias ? op.add(fromHidden, rBias) : (fromHidden ?? rBias);
    const sum = hiddenGates ? op.add(inputGates, hiddenGates) : inputGates;
    const [z, r] = [gates.z, gates.r].map((k) => op.sigmoid(gate(sum, k)));
    const reset = hiddenGates ? op.mul(r, gate(hiddenGates, gates.n)) : undefined;
    const n = gate(inputGates, gates.n);
    const candidate = op.tanh(reset ? op.add(n, reset) : n);
    // h = (1 - z) n + z h = n + z (h - n)
    h = op.add(candidate, op.mul(z, h ? op.sub(h, candidate) : op.neg(candidate)));
    hs[t] = h;
  }
  if (!h) throw new LayerInputError('GRU: an empty sequence');
  return { hs, h };
}

/** Each step's h [N, H] stacked on a new axis 0: [T, N, H]. */
export const stackSteps = (hs: readonly Tensor[]): Tensor =>
  op.concat(
    hs.map((h) => op.unsqueeze(h, [0])),
    0,
  );

export interface RecurrentOptions {
  /** Stacked layers, each reading the one before's output (PyTorch's num_layers; no dropout between them). */
  numLayers?: number;
  bias?: boolean;
  /** Input and output [N, T, features] rather than [T, N, features]. */
  batchFirst?: boolean;
  /** A second direction per layer, run from the last step back, its output concatenated after the first's. */
  bidirectional?: boolean;
}

interface CellParameters {
  w: Parameter;
  r: Parameter;
  wBias?: Parameter;
  rBias?: Parameter;
}

/**
 * What LSTM and GRU share: PyTorch's parameters (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
 * `bias_hh_l0`, then `..._reverse`, per layer) drawn from U(-1/sqrt(H), 1/sqrt(H)), and the
 * layers and directions. forward returns PyTorch's `output` only: modules here return one tensor,
 * and the last hidden state is in it (output[:, -1] forward, output[:, 0] backward; batch first).
 */
abstract class Recurrent extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly bidirectional: boolean;
  /** [layer][direction]: the same Parameters as the named properties, typed. */
  private readonly cells: CellParameters[][] = [];

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    private readonly gateCount: number,
    { numLayers = 1, bias = true, batchFirst = false, bidirectional = false }: RecurrentOptions,
  ) {
    super();
    this.numLayers = numLayers;
    this.bias = bias;
    this.batchFirst = batchFirst;
    this.bidirectional = bidirectional;
    const rows = gateCount * hiddenSize;
    const draw = (shape: number[]) =>
      new Parameter(shape, uniform(1 / Math.sqrt(hiddenSize), shape[0] * (shape[1] ?? 1)));
    for (let l = 0; l < numLayers; l++) {
      const features = l === 0 ? inputSize : hiddenSize * this.directions;
      this.cells.push(
        [...Array(this.directions).keys()].map((d) => {
          const cell = { w: draw([rows, features]), r: draw([rows, hiddenSize]) };
          const biases = bias ? { wBias: draw([rows]), rBias: draw([rows]) } : {};
          const suffix = `_l${l}${d === 1 ? '_reverse' : ''}`;
          // PyTorch's names, in its state_dict order (the module's entries are its properties, in order set).
          Object.assign(this, { [`weight_ih${suffix}`]: cell.w, [`weight_hh${suffix}`]: cell.r });
          if (biases.wBias)
            Object.assign(this, { [`bias_ih${suffix}`]: biases.wBias, [`bias_hh${suffix}`]: biases.rBias });
          return { ...cell, ...biases };
        }),
      );
    }
  }

  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Each step's h of one direction over x [T, N, features]. */
  protected abstract unroll(x: Tensor, weights: CellWeights, reverse: boolean): Tensor[];

  override describe(): string {
    const layers = this.numLayers > 1 ? `, ${this.numLayers} layers` : '';
    return `${this.kind} ${this.inputSize}->${this.hiddenSize}${this.bidirectional ? ' bidirectional' : ''}${layers}`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.inputSize) {
      const got = x.rank === 3 ? `${x.shape[2]} features` : `a ${x.rank}-D input`;
      throw new LayerInputError(`got ${got}; expected [${this.batchFirst ? 'N, T' : 'T, N'}, ${this.inputSize}]`);
    }
    let seq = this.batchFirst ? op.transpose(x, [1, 0, 2]) : x;
    for (const layer of this.cells) {
      const outputs = layer.map((cell, d) => {
        const value = (p: Parameter | undefined) => p && ctx.value(p);
        const weights = {
          w: ctx.value(cell.w),
          r: ctx.value(cell.r),
          wBias: value(cell.wBias),
          rBias: value(cell.rBias),
        };
        return stackSteps(this.unroll(seq, weights, d === 1));
      });
      seq = outputs.length > 1 ? op.concat(outputs, 2) : outputs[0];
    }
    return this.batchFirst ? op.transpose(seq, [1, 0, 2]) : seq;
  }

  override macs(input: Shape): number {
    const steps = input[this.batchFirst ? 1 : 0];
    const rows = this.gateCount * this.hiddenSize;
    const perStep = this.cells.reduce((n, layer, l) => {
      const features = l === 0 ? this.inputSize : this.hiddenSize * this.directions;
      return n + layer.length * rows * (features + this.hiddenSize);
    }, 0);
    return typeof steps === 'number' ? steps * perStep : 0;
  }
}

/** torch.nn.LSTM: `new LSTM(28, 64, { batchFirst: true })` on [N, T, 28] gives [N, T, 64]. */
export class LSTM extends Recurrent {
  constructor(inputSize: number, hiddenSize: number, options: RecurrentOptions = {}) {
    super(inputSize, hiddenSize, 4, options);
  }

  protected unroll(x: Tensor, weights: CellWeights, reverse: boolean): Tensor[] {
    return lstmCells(x, weights, this.hiddenSize, TORCH_LSTM, {}, reverse).hs;
  }
}

/** torch.nn.GRU: `new GRU(28, 64, { batchFirst: true })` on [N, T, 28] gives [N, T, 64]. */
export class GRU extends Recurrent {
  constructor(inputSize: number, hiddenSize: number, options: RecurrentOptions = {}) {
    super(inputSize, hiddenSize, 3, options);
  }

  protected unroll(x: Tensor, weights: CellWeights, reverse: boolean): Tensor[] {
    return gruCells(x, weights, this.hiddenSize, TORCH_GRU, {}, reverse).hs;
  }
}
