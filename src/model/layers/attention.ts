/**
 * MultiheadAttention and TransformerEncoderLayer, as torch.nn's, written with batched MatMul,
 * Softmax, Reshape and Transpose, so their gradients come from those ops' rules. Both take one
 * input, as modules here do: MultiheadAttention is self-attention (PyTorch's `attn(x, x, x)`),
 * with no masks, and returns the attention's output only (`need_weights=False`).
 */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import type { Shape } from '../../graph/shape.js';
import { type Context, LayerInputError, Module, Parameter } from '../module.js';
import { GELU, ReLU } from './activation.js';
import { Dropout } from './dropout.js';
import { constant, uniform } from './init.js';
import { Linear } from './linear.js';
import { LayerNorm } from './sample-norm.js';

/** MultiheadAttention's `out_proj`: a Linear whose bias PyTorch starts at zero. */
class OutProjection extends Linear {
  declare readonly bias?: Parameter;

  constructor(features: number, bias: boolean) {
    super(features, features, { bias: false });
    if (bias) this.bias = new Parameter([features], constant(0, features));
  }

  override get kind(): string {
    return 'Linear';
  }
}

export interface AttentionOptions {
  /** Dropout on the attention weights, in training. */
  dropout?: number;
  bias?: boolean;
  /** Input and output [N, L, E] rather than [L, N, E]. */
  batchFirst?: boolean;
}

/**
 * torch.nn.MultiheadAttention(embedDim, numHeads), self-attention: state `in_proj_weight` [3E, E]
 * (xavier-uniform, as PyTorch), `in_proj_bias` [3E] (zeros) and `out_proj.weight`, `out_proj.bias`.
 */
export class MultiheadAttention extends Module {
  readonly in_proj_weight: Parameter;
  readonly in_proj_bias?: Parameter;
  readonly out_proj: Linear;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    { dropout = 0, bias = true, batchFirst = false }: AttentionOptions = {},
  ) {
    super();
    if (embedDim % numHeads !== 0)
      throw new LayerInputError(`MultiheadAttention(${embedDim}, ${numHeads}): the heads must divide embedDim`);
    this.dropout = dropout;
    this.batchFirst = batchFirst;
    const n = 3 * embedDim * embedDim;
    this.in_proj_weight = new Parameter([3 * embedDim, embedDim], uniform(Math.sqrt(6 / (4 * embedDim)), n));
    if (bias) this.in_proj_bias = new Parameter([3 * embedDim], constant(0, 3 * embedDim));
    this.out_proj = new OutProjection(embedDim, bias);
  }

  override describe(): string {
    return `MultiheadAttention ${this.embedDim}, ${this.numHeads} heads`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const e = this.embedDim;
    if (x.rank !== 3 || x.shape[2] !== e) {
      throw new LayerInputError(`got ${x.rank === 3 ? `${x.shape[2]} features` : `a ${x.rank}-D input`}`);
    }
    const seq = this.batchFirst ? x : op.transpose(x, [1, 0, 2]);
    const [batch, length] = seq.shape;
    const projected = op.matmul(seq, op.transpose(ctx.value(this.in_proj_weight), [1, 0]));
    const qkv = this.in_proj_bias ? op.add(projected, ctx.value(this.in_proj_bias)) : projected;
    const d = e / this.numHeads;
    // [N, L, E] -> [N, heads, L, d], the heads a batch axis of the MatMuls
    const heads = (k: number) =>
      op.transpose(
        op.reshape(op.slice(qkv, [k * e], [(k + 1) * e], [2]), [batch, length, this.numHeads, d]),
        [0, 2, 1, 3],
      );
    const [q, k, v] = [0, 1, 2].map(heads);
    const scores = op.matmul(op.mul(q, 1 / Math.sqrt(d)), op.transpose(k, [0, 1, 3, 2]));
    const weights = ctx.dropout(this, op.softmax(scores, -1), this.dropout);
    const merged = op.reshape(op.transpose(op.matmul(weights, v), [0, 2, 1, 3]), [batch, length, e]);
    const y = this.out_proj.call(merged, ctx);
    return this.batchFirst ? y : op.transpose(y, [1, 0, 2]);
  }

  override macs(input: Shape): number {
    const length = input[this.batchFirst ? 1 : 0];
    return typeof length === 'number' ? 3 * length * this.embedDim ** 2 + 2 * length * length * this.embedDim : 0;
  }
}

export interface EncoderLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu';
  layerNormEps?: number;
  batchFirst?: boolean;
  /** LayerNorm before attention and feedforward (pre-norm, as ViTs) rather than after each residual add. */
  normFirst?: boolean;
}

/**
 * torch.nn.TransformerEncoderLayer(dModel, nhead): self-attention and a feedforward block
 * (linear1, activation, dropout, linear2), each with a residual add and a LayerNorm; children
 * and state_dict keys as PyTorch's (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.bias`, ...).
 */
export class TransformerEncoderLayer extends Module {
  readonly self_attn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly activation: 'relu' | 'gelu';
  readonly normFirst: boolean;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    {
      dimFeedforward = 2048,
      dropout = 0.1,
      activation = 'relu',
      layerNormEps = 1e-5,
      batchFirst = false,
      normFirst = false,
    }: EncoderLayerOptions = {},
  ) {
    super();
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout, batchFirst });
    this.linear1 = new Linear(dModel, dimFeedforward);
    this.dropout = new Dropout(dropout);
    this.linear2 = new Linear(dimFeedforward, dModel);
    this.norm1 = new LayerNorm(dModel, { eps: layerNormEps });
    this.norm2 = new LayerNorm(dModel, { eps: layerNormEps });
    this.dropout1 = new Dropout(dropout);
    this.dropout2 = new Dropout(dropout);
    this.activation = activation;
    this.normFirst = normFirst;
  }

  override describe(): string {
    return `TransformerEncoderLayer ${this.dModel}, ${this.nhead} heads, ${this.activation}`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const attend = (t: Tensor) => this.dropout1.call(this.self_attn.call(t, ctx), ctx);
    const feedforward = (t: Tensor) => {
      const hidden = this.linear1.call(t, ctx);
      // PyTorch keeps the activation as a function, not a child: a stateless module made here is the same
      const activated = (this.activation === 'gelu' ? new GELU() : new ReLU()).call(hidden, ctx);
      return this.dropout2.call(this.linear2.call(this.dropout.call(activated, ctx), ctx), ctx);
    };
    if (this.normFirst) {
      const y = op.add(x, attend(this.norm1.call(x, ctx)));
      return op.add(y, feedforward(this.norm2.call(y, ctx)));
    }
    const y = this.norm1.call(op.add(x, attend(x)), ctx);
    return this.norm2.call(op.add(y, feedforward(y)), ctx);
  }
}
