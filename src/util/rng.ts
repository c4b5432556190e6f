/**
 * Seeded random numbers. Every stream is derived from (seed, keys...), e.g. (seed, step,
 * layer), so a draw depends on where it is used and never on how long a process has run:
 * resuming from a checkpoint replays exactly the draws an uninterrupted run would make.
 */

/** Mixes 32-bit words into one well-spread 32-bit word (murmur3's finaliser over a running hash). */
function hash32(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    h = Math.imul(h ^ (w >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** sfc32's 128-bit state. */
export interface Sfc32 {
  a: number;
  b: number;
  c: number;
  d: number;
}

/** One sfc32 round: advances `s` and returns the next 32-bit output (as a signed int). */
function sfc32Round(s: Sfc32): number {
  const t = (((s.a + s.b) | 0) + s.d) | 0;
  s.d = (s.d + 1) | 0;
  s.a = s.b ^ (s.b >>> 9);
  s.b = (s.c + (s.c << 3)) | 0;
  s.c = (s.c << 21) | (s.c >>> 11);
  s.c = (s.c + t) | 0;
  return t;
}

/**
 * The state of the stream (seed, ...keys) after `warmup` rounds: what Rng starts from, and
 * what a hot loop that inlines the round (the dropout masks) starts from.
 */
export function sfc32(warmup: number, seed: number, ...keys: number[]): Sfc32 {
  const s: Sfc32 = { a: hash32(seed, ...keys, 1), b: hash32(seed, ...keys, 2), c: hash32(seed, ...keys, 3), d: 1 };
  for (let i = 0; i < warmup; i++) sfc32Round(s);
  return s;
}

/** sfc32: a small, fast generator with 128 bits of state; passes PractRand to 2^40+. */
export class Rng {
  private readonly state: Sfc32;

  /** A stream for (seed, ...keys); different keys give independent streams. */
  constructor(seed: number, ...keys: number[]) {
    this.state = sfc32(12, seed, ...keys);
  }

  nextUint32(): number {
    return sfc32Round(this.state) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(items: T[] | Uint32Array | Int32Array): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
  }
}
