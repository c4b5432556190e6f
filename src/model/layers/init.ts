/** PyTorch's default initialisations, drawn from a seeded stream, and PyTorch-style size arguments. */
import type { Init } from '../module.js';

export const constant =
  (value: number, n: number): Init =>
  () =>
    new Float32Array(n).fill(value);

/** U(-bound, bound): kaiming_uniform(a=sqrt(5)) for a weight of fan-in f gives bound 1/sqrt(f), as does its bias. */
export const uniform =
  (bound: number, n: number): Init =>
  (rng) =>
    Float32Array.from({ length: n }, () => rng.range(-bound, bound));

/** PyTorch's `int or (h, w)` arguments. */
export type Size2 = number | readonly [number, number];

export const pair = (v: Size2): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
