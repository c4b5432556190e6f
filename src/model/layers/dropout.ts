/**
 * Dropout, as torch.nn.Dropout (p defaults to 0.5). In training it multiplies by a keep-mask
 * fed as a graph input (values 0 and 1/(1-p)), drawn in TypeScript from (seed, step, layer):
 * ORT's Dropout replays its random sequence from session start (so a resumed run would
 * repeat the first epoch's masks), draws on one thread (21% of a step when measured), and
 * ORT's optimizer deletes it outright when its mask output is unused.
 */
import type { Tensor } from '../../graph/builder.js';
import { type Context, LayerInputError, Module } from '../module.js';

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new LayerInputError(`Dropout(${p}): p must be in [0, 1)`);
  }

  override describe(): string {
    return `Dropout ${this.p}`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    return ctx.dropout(this, x, this.p);
  }
}
