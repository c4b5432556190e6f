/**
 * Whether two runs of one graph on the same feeds agree: the check that onnxruntime-web's WebGPU
 * execution provider computes what its WebAssembly one does (it does not always: see
 * docs/upstream-reports.md). Each output is compared relative to its own size, so a loss of 2.3
 * and a momentum buffer of 1e-3 are held to the same standard, in two ways:
 * - `worst`, elementwise: the largest difference relative to the output's largest value. What
 *   the tests hold a step to (1e-4), where they know the step is smooth;
 * - `worstSpread`, as a whole: |a - b| / |a| (Euclidean norms). What the pages trust WebGPU by.
 *   A training step is not smooth at rounding's scale: a max-pool window whose two largest
 *   values are 1e-7 apart routes its gradient to the other cell when rounding swaps them, and a
 *   ReLU flips at zero. Measured on onnxruntime-node alone, the seed CNN's step at batch 128 with
 *   its weights moved by 1e-7 (relative) changed some gradient elements by 2.8e-3 of their
 *   output's largest value in 2 of 10 batches, but no output by more than 1.5e-3 as a whole. A
 *   wrong kernel moves a whole output: 0.1 and more.
 */

/** Outputs by name (a session's results, as typed arrays). */
export type Outputs = Readonly<Record<string, ArrayLike<number | bigint>>>;

/**
 * Below this in magnitude, both sides are rounding noise around
 * an exact zero (float32 sums of ~20,000 terms give ~1e-6).
 */
const ZERO_NOISE = 1e-5;
/**
 * The smallest scale an elementwise difference is measured against (a tensor of tiny values is not held to their size).
 */
const SCALE_FLOOR = 0.01;
/**
 * The spread the pages allow WebGPU before they stop trusting it with a network: above what
 * rounding and the step's kinks give (1.5e-3 measured), well below a wrong kernel (0.1 and up).
 * A wrong kernel under it would still move each update by less than 2%, far less than the
 * noise of a minibatch.
 */
const SPREAD_TOLERANCE = 2e-2;

export interface Agreement {
  /**
   * The largest elementwise difference of any output, relative to that output's largest |value| (at least SCALE_FLOOR).
   */
  worst: number;
  /** The output where it is ('' when every output is equal or zero on both sides). */
  name: string;
  /** The largest |a - b| / |a| of any output (Euclidean norms). */
  worstSpread: number;
  /** The output where it is. */
  spreadName: string;
  /** Outputs that are zero on the reference side to rounding (|v| < ZERO_NOISE) and on the other side too. */
  zeros: string[];
  /** Outputs missing on one side, or of another length, or zero on the reference side and not on the other. */
  mismatched: string[];
}

/** Nothing compared yet: the identity of comparing. */
export const emptyAgreement = (): Agreement => ({
  worst: 0,
  name: '',
  worstSpread: 0,
  spreadName: '',
  zeros: [],
  mismatched: [],
});

const largest = (t: ArrayLike<number | bigint>): number => {
  let m = 0;
  for (let i = 0; i < t.length; i++) m = Math.max(m, Math.abs(Number(t[i])));
  return m;
};

/** A NaN on either side (Math.max and sums pass it on) is the worst there is. */
const orInfinity = (x: number): number => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x);

/**
 * How far `candidate` is from `reference`, output by output. An output that is zero in exact
 * arithmetic (a conv bias that a normalisation cancels) is rounding noise on both sides: there
 * both must be under ZERO_NOISE, not relatively equal.
 */
export function compareOutputs(reference: Outputs, candidate: Outputs): Agreement {
  const result = emptyAgreement();
  const names = new Set([...Object.keys(reference), ...Object.keys(candidate)]);
  for (const name of names) {
    const a = reference[name];
    const b = candidate[name];
    if (!a || !b || a.length !== b.length) {
      result.mismatched.push(name);
      continue;
    }
    const scale = largest(a);
    if (scale < ZERO_NOISE) {
      if (largest(b) < ZERO_NOISE) result.zeros.push(name);
      else result.mismatched.push(name);
      continue;
    }
    let diff = 0;
    let squaredDiff = 0;
    let squared = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Number(a[i]) - Number(b[i]);
      diff = Math.max(diff, Math.abs(d));
      squaredDiff += d * d;
      squared += Number(a[i]) ** 2;
    }
    const relative = orInfinity(diff / Math.max(SCALE_FLOOR, scale));
    if (relative > result.worst) {
      result.worst = relative;
      result.name = name;
    }
    const spread = orInfinity(Math.sqrt(squaredDiff / squared));
    if (spread > result.worstSpread) {
      result.worstSpread = spread;
      result.spreadName = name;
    }
  }
  return result;
}

/** Whether the two sides agree as the pages require (the same outputs, every spread within `tolerance`). */
export const agrees = (a: Agreement, tolerance = SPREAD_TOLERANCE): boolean =>
  a.mismatched.length === 0 && a.worstSpread <= tolerance;

/** "spread 3.1e-1 in conv2.weight.next (elementwise 4.9e-1 in ...)", or what is missing: for messages. */
export function describeAgreement(a: Agreement): string {
  if (a.mismatched.length > 0) return `outputs differ in kind or zeros: ${a.mismatched.join(', ')}`;
  if (!a.spreadName) return 'equal';
  return (
    `spread ${a.worstSpread.toExponential(1)} in ${a.spreadName}; ` +
    `elementwise ${a.worst.toExponential(1)} of the scale in ${a.name}`
  );
}
