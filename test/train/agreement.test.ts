import { describe, expect, test } from 'vitest';
import { agrees, compareOutputs, describeAgreement } from '../../src/train/core/agreement.js';

const f = (...v: number[]) => Float32Array.from(v);

describe('compareOutputs (is the WebGPU step the wasm step?)', () => {
  test('measures each output against its own scale and names the worst', () => {
    const a = compareOutputs({ loss: f(2.3), w: f(1e-3, -2e-3) }, { loss: f(2.3 + 2.3e-5), w: f(1e-3, -2e-3 + 1e-6) });
    // w's scale is floored at 0.01: 1e-6 / 0.01; the loss: 2.3e-5 / 2.3.
    expect(a.name).toBe('w');
    expect(a.worst).toBeCloseTo(1e-4, 6);
    expect(a.spreadName).toBe('w');
    expect(agrees(a)).toBe(true);
    expect(agrees(a, 1e-5)).toBe(false);
  });

  test('one element off (a kink: a max-pool near-tie routed the other way) is elementwise large but small as a whole', () => {
    const reference = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const candidate = reference.slice();
    candidate[7] += 0.02;
    const a = compareOutputs({ g: reference }, { g: candidate });
    expect(a.worst).toBeCloseTo(0.02, 4);
    expect(a.worstSpread).toBeCloseTo(0.02 / Math.hypot(...reference), 4);
    expect(a.worstSpread).toBeLessThan(1e-3);
    expect(agrees(a)).toBe(true);
  });

  test('a wrong kernel is far outside the tolerance', () => {
    const a = compareOutputs({ y: f(1, 2, 3) }, { y: f(1, 2.5, 3) });
    expect(a.worst).toBeCloseTo(0.5 / 3, 6);
    expect(a.worstSpread).toBeCloseTo(0.5 / Math.hypot(1, 2, 3), 6);
    expect(agrees(a)).toBe(false);
    expect(describeAgreement(a)).toBe('spread 1.3e-1 in y; elementwise 1.7e-1 of the scale in y');
  });

  test('zeros in exact arithmetic must be rounding noise on both sides', () => {
    expect(compareOutputs({ b: f(1e-6, -2e-6) }, { b: f(-3e-6, 0) }).zeros).toEqual(['b']);
    const a = compareOutputs({ b: f(1e-6, 0) }, { b: f(0.2, 0) });
    expect(a.mismatched).toEqual(['b']);
    expect(agrees(a)).toBe(false);
  });

  test('NaN, missing outputs and other lengths never agree', () => {
    expect(compareOutputs({ y: f(1, 2) }, { y: f(1, Number.NaN) }).worst).toBe(Number.POSITIVE_INFINITY);
    expect(compareOutputs({ y: f(1, 2) }, { y: f(1, Number.NaN) }).worstSpread).toBe(Number.POSITIVE_INFINITY);
    expect(compareOutputs({ y: f(Number.NaN, 2) }, { y: f(1, 2) }).worst).toBe(Number.POSITIVE_INFINITY);
    expect(compareOutputs({ y: f(1), z: f(1) }, { y: f(1) }).mismatched).toEqual(['z']);
    expect(compareOutputs({ y: f(1) }, { y: f(1, 2) }).mismatched).toEqual(['y']);
    expect(agrees(compareOutputs({ y: f(1) }, { y: f(1), extra: f(0) }))).toBe(false);
  });

  test('int64 outputs (a correct-count) compare as numbers', () => {
    expect(agrees(compareOutputs({ correct: BigInt64Array.from([30n]) }, { correct: BigInt64Array.from([30n]) }))).toBe(
      true,
    );
    expect(agrees(compareOutputs({ correct: BigInt64Array.from([30n]) }, { correct: BigInt64Array.from([29n]) }))).toBe(
      false,
    );
  });
});
