/**
 * Gradient checks: analytic gradients from `gradients()`, run by ORT, against central finite
 * differences of the loss. The loss is sum(y * r) for a fixed random r, so every output
 * element's gradient path is exercised.
 */
import type * as ort from '../../src/util/ort.node.js';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph, staticShape, type Tensor } from '../../src/graph/builder.js';
import { type AnyTypedArray, type DType, typedArray } from '../../src/graph/dtype.js';
import * as op from '../../src/graph/ops/index.js';
import { numel } from '../../src/graph/shape.js';
import { Rng } from '../../src/util/rng.js';
import { run, session } from './ort.js';

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

export interface GradCheckOptions {
  eps?: number;
  seed?: number;
  /** Build a portable graph (GraphOptions.portable), as WebGPU sessions run. */
  portable?: boolean;
}

type FloatArray = Float32Array | Float64Array;

function floatData(data: AnyTypedArray, name: string): FloatArray {
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  throw new Error(`'${name}' is differentiated but not a float input: mark it constant`);
}

/** The loss graph run by ORT once, for the analytic gradients; what the finite differences need to vary it. */
interface Analytic {
  graph: Graph;
  session: ort.InferenceSession;
  /** The differentiated inputs, with their values in `feeds` (varied in place by the differences). */
  wrt: Tensor[];
  feeds: Record<string, AnyTypedArray>;
  /** r as stored in the graph (rounded to y's element type). */
  r: Float64Array;
  results: Record<string, ort.Tensor>;
}

/** Builds y = build(inputs) and loss = sum(y * r), draws r then the inputs' values, and runs the gradients. */
async function analyticGradients(
  specs: readonly InputSpec[],
  dtypeOf: (spec: InputSpec) => DType,
  build: (...inputs: Tensor[]) => Tensor,
  seed: number,
  portable = false,
): Promise<Analytic> {
  const rng = new Rng(seed);
  const random = () => rng.uniform() * 2 - 1;
  const graph = new Graph('gradcheck', { portable });
  const inputs = specs.map((s) => graph.input(s.name, dtypeOf(s), s.shape));
  const y = build(...inputs);
  const round = y.dtype === 'float32' ? Math.fround : (v: number) => v;
  const r = Float64Array.from({ length: numel(y.shape) }, () => round(random()));
  const loss = op.reduceSum(op.mul(y, graph.constant(y.dtype, staticShape(y, 'gradcheck'), r)), [
    ...Array(y.rank).keys(),
  ]);
  graph.output(loss, 'loss');
  const wrt = inputs.filter((_, i) => !specs[i].constant);
  gradients(loss, wrt).forEach((d, i) => {
    if (!d) throw new Error(`no gradient reaches ${wrt[i]}`);
    graph.output(d, `grad_${wrt[i].name}`);
  });
  const s = await session(graph);
  const feeds: Record<string, AnyTypedArray> = {};
  specs.forEach((spec, i) => {
    feeds[spec.name] = typedArray(inputs[i].dtype, spec.data ?? Array.from({ length: numel(spec.shape) }, random));
  });
  return { graph, session: s, wrt, feeds, r, results: await run(s, graph, feeds) };
}

/**
 * Each differentiated input's analytic gradient against central differences of `lossAt`,
 * which reads the values `dataOf` gives (varied in place, restored after each step).
 */
async function compareAll(
  a: Analytic,
  dataOf: (t: Tensor) => FloatArray,
  lossAt: () => number | Promise<number>,
  eps: number,
): Promise<GradCheckResult[]> {
  const results: GradCheckResult[] = [];
  for (const t of a.wrt) {
    const data = dataOf(t);
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
    const analytic = Array.from(floatData(a.results[`grad_${t.name}`].data as AnyTypedArray, t.name));
    const scale = Math.max(1, ...numeric.map(Math.abs));
    const maxRelError = Math.max(...analytic.map((v, j) => Math.abs(v - numeric[j]))) / scale;
    results.push({ name: t.name, analytic, numeric, maxRelError });
  }
  return results;
}

/** Both sides run by ORT on the same graph (float64 by default). */
export async function gradCheck(
  specs: readonly InputSpec[],
  build: (...inputs: Tensor[]) => Tensor,
  { eps = 1e-6, seed = 1, portable }: GradCheckOptions = {},
): Promise<GradCheckResult[]> {
  const a = await analyticGradients(specs, (s) => s.dtype ?? 'float64', build, seed, portable);
  const lossAt = async () => Number((await run(a.session, a.graph, a.feeds)).loss.data[0]);
  return compareAll(a, (t) => floatData(a.feeds[t.name], t.name), lossAt, eps);
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
  { eps = 1e-6, seed = 1, portable }: GradCheckOptions = {},
): Promise<GradCheckResult[]> {
  const a = await analyticGradients(specs, () => 'float32', build, seed, portable);
  const x64 = specs.map((s) => Float64Array.from(floatData(a.feeds[s.name], s.name)));
  const lossAt = () => reference(x64).reduce((acc, v, i) => acc + v * a.r[i], 0);
  return compareAll(a, (t) => x64[specs.findIndex((s) => s.name === t.name)], lossAt, eps);
}
