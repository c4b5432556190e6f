/** Commander argument parsers: a bad value becomes commander's one-line "invalid argument" error. */
import { InvalidArgumentError } from 'commander';

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('not a number.');
  return n;
}

export function positiveInt(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = number(value);
  if (n <= 0) throw new InvalidArgumentError('must be greater than 0.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = number(value);
  if (n < 0) throw new InvalidArgumentError('must be 0 or more.');
  return n;
}

export function probability(value: string): number {
  const n = number(value);
  if (n < 0 || n >= 1) throw new InvalidArgumentError('must be in [0, 1).');
  return n;
}

/** A seed: the random streams take 32-bit words, so larger values would silently wrap. */
export function uint32(value: string): number {
  const n = nonNegativeInt(value);
  if (n > 0xffffffff) throw new InvalidArgumentError('must be at most 4294967295 (2^32 - 1).');
  return n;
}

/** A moving-average decay: strictly between 0 and 1. */
export function emaDecay(value: string): number {
  const n = number(value);
  if (n <= 0 || n >= 1) throw new InvalidArgumentError('must be in (0, 1).');
  return n;
}

/** A path: an empty one (`--out ""`) is a mistake, not "the default". */
export function nonEmptyPath(value: string): string {
  if (value === '') throw new InvalidArgumentError('must not be empty.');
  return value;
}
