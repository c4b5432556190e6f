/**
 * Gradient checks: analytic gradients from `gradients()`, run by ORT, against central finite
 * differences of the same forward graph, run by ORT. The loss is sum(y * r) for a fixed
 * random r, so every output element's gradient path is exercised.
 */
import { gradients } from '../../src/graph/autodiff.js';
import { Graph, type Tensor } from '../../src/graph/builder.js';
import { type AnyTypedArray, type DType, typedArray } from '../../src/graph/dtype.js';
import * as op from '../../src/graph/ops/index.js';
import { numel } from '../../src/graph/shape.js';
import { run, session } from './ort.js';
import { Rng } from '../../src/util/rng.js';

export interface InputSpec {
  name: string;
  shape: readonly number[];
  dtype?: DType;
  /** Values (default: uniform in [-1, 1] from the seeded generator). */
  data?: ArrayLike<number>;
  /** Not differentiated (indices, labels, masks). */
  constant?: boolean;
}

export interface GradCheckResult {
  name: string;
  analytic: number[];
  numeric: number[];
  /** max |analytic - numeric| / max(1, max |numeric|) */
  maxRelError: number;
}

function fill(spec: InputSpec, random: () => number): AnyTypedArray {
  const dtype = spec.dtype ?? 'float64';
  if (spec.data) return typedArray(dtype, spec.data);
  return typedArray(dtype, Array.from({ length: numel(spec.shape) }, () => random() * 2 - 1));
}

export async function gradCheck(
  specs: readonly InputSpec[],
  build: (...inputs: Tensor[]) => Tensor,
  { eps = 1e-6, seed = 1 }: { eps?: number; seed?: number } = {},
): Promise<GradCheckResult[]> {
  const rng = new Rng(seed);
  const random = () => rng.uniform();
  const g = new Graph('gradcheck');
  const inputs = specs.map((s) => g.input(s.name, s.dtype ?? 'float64', s.shape));
  const y = build(...inputs);
  const r = g.constant(y.dtype, y.shape as number[], Array.from({ length: numel(y.shape) }, () => random() * 2 - 1));
  const loss = op.reduceSum(op.mul(y, r), [...Array(y.rank).keys()]);
  g.output(loss, 'loss');
  const wrt = inputs.filter((_, i) => !specs[i].constant);
  gradients(loss, wrt).forEach((d, i) => {
    if (!d) throw new Error(`no gradient reaches ${wrt[i]}`);
    g.output(d, `grad_${wrt[i].name}`);
  });

  const s = await session(g);
  const feeds: Record<string, AnyTypedArray> = {};
  specs.forEach((spec) => (feeds[spec.name] = fill(spec, random)));
  const analytic = await run(s, g, feeds);
  const lossAt = async () => Number((await run(s, g, feeds)).loss.data[0]);

  const results: GradCheckResult[] = [];
  for (const t of wrt) {
    const data = feeds[t.name] as Float64Array | Float32Array;
    const numeric: number[] = [];
    for (let j = 0; j < data.length; j++) {
      const saved = data[j];
      data[j] = saved + eps;
      const plus = await lossAt();
      data[j] = saved - eps;
      const minus = await lossAt();
      data[j] = saved;
      numeric.push((plus - minus) / (2 * eps));
    }
    const a = Array.from(analytic[`grad_${t.name}`].data as Float64Array, Number);
    const scale = Math.max(1, ...numeric.map(Math.abs));
    const maxRelError = Math.max(...a.map((v, j) => Math.abs(v - numeric[j]))) / scale;
    results.push({ name: t.name, analytic: a, numeric, maxRelError });
  }
  return results;
}

/**
 * For ops ORT runs only in float32 (Conv, GlobalAveragePool): the analytic gradient, run by
 * ORT in float32, against central differences of a float64 reference forward written in JS.
 * The inputs are float32 values, so both sides see identical numbers.
 */
export async function gradCheckAgainstReference(
  specs: readonly InputSpec[],
  build: (...inputs: Tensor[]) => Tensor,
  reference: (inputs: Float64Array[]) => Float64Array,
  { eps = 1e-6, seed = 1 }: { eps?: number; seed?: number } = {},
): Promise<GradCheckResult[]> {
  const rng = new Rng(seed);
  const g = new Graph('gradcheck32');
  const inputs = specs.map((s) => g.input(s.name, 'float32', s.shape));
  const y = build(...inputs);
  const rValues = Float64Array.from({ length: numel(y.shape) }, () => Math.fround(rng.uniform() * 2 - 1));
  const loss = op.reduceSum(op.mul(y, g.constant('float32', y.shape as number[], rValues)), [...Array(y.rank).keys()]);
  g.output(loss, 'loss');
  gradients(loss, inputs).forEach((d, i) => g.output(d!, `grad_${inputs[i].name}`));

  const values = specs.map((s) => Float32Array.from(s.data ?? Array.from({ length: numel(s.shape) }, () => rng.uniform() * 2 - 1)));
  const feeds = Object.fromEntries(specs.map((s, i) => [s.name, values[i]]));
  const analytic = await run(await session(g), g, feeds);

  const x64 = values.map((v) => Float64Array.from(v));
  const lossAt = () => reference(x64).reduce((acc, v, i) => acc + v * rValues[i], 0);
  return specs.map((spec, i) => {
    const numeric = Array.from(x64[i], (saved, j) => {
      x64[i][j] = saved + eps;
      const plus = lossAt();
      x64[i][j] = saved - eps;
      const minus = lossAt();
      x64[i][j] = saved;
      return (plus - minus) / (2 * eps);
    });
    const a = Array.from(analytic[`grad_${spec.name}`].data as Float32Array);
    const scale = Math.max(1, ...numeric.map(Math.abs));
    return { name: spec.name, analytic: a, numeric, maxRelError: Math.max(...a.map((v, j) => Math.abs(v - numeric[j]))) / scale };
  });
}
