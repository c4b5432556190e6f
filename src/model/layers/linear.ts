/** Linear, as torch.nn.Linear: y = x W^T + b, W [out, in]; ONNX's Gemm (transB) on [N, in]. */
import type { Tensor } from '../../graph/builder.js';
import * as op from '../../graph/ops/index.js';
import type { Shape } from '../../graph/shape.js';
import { type Context, LayerInputError, Module, Parameter } from '../module.js';
import { uniform } from './init.js';

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true }: { bias?: boolean } = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter([outFeatures, inFeatures], uniform(bound, outFeatures * inFeatures));
    if (bias) this.bias = new Parameter([outFeatures], uniform(bound, outFeatures));
  }

  override describe(): string {
    return `Linear ${this.inFeatures}->${this.outFeatures}`;
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const features = x.shape.at(-1);
    if (features !== this.inFeatures) {
      const hint = x.rank > 2 ? ` (input ${x.rank}-D: add Flatten before it)` : '';
      throw new LayerInputError(`got ${features} features${hint}`);
    }
    const w = ctx.value(this.weight);
    const b = this.bias && ctx.value(this.bias);
    if (x.rank === 2) return op.gemm(x, w, { transB: true }, b);
    const y = op.matmul(x, op.transpose(w, [1, 0]));
    return b ? op.add(y, b) : y;
  }

  override macs(input: Shape): number {
    const rows = input.slice(1, -1).reduce<number>((n, d) => n * (d as number), 1);
    return rows * this.inFeatures * this.outFeatures;
  }
}
