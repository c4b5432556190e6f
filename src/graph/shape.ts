/**
 * Static shapes. A dimension is a number or a symbol such as 'N' (the batch), so one graph
 * serves every batch size; two different symbols are never assumed equal.
 */
import { ExpectedError } from '../util/errors.js';

export type Dim = number | string;
export type Shape = readonly Dim[];

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** Thrown when an op is emitted with inputs whose shapes cannot work together. */
export class ShapeError extends ExpectedError {}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

/** Number of elements; throws for symbolic shapes, which have no fixed size. */
export function numel(shape: Shape): number {
  if (!isStatic(shape)) throw new ShapeError(`shape ${formatShape(shape)} has symbolic dimensions`);
  return shape.reduce((a, b) => a * b, 1);
}

/** Resolves a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/**
 * Numpy-style broadcast of several shapes; returns undefined when two known sizes disagree.
 * A symbol against a number other than 1 takes the number (the runtime checks the rest).
 */
export function broadcastShapes(...shapes: Shape[]): Shape | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1 || d === dim) continue;
      if (dim === 1) dim = d;
      else if (typeof dim === 'number' && typeof d === 'number') return undefined;
      else if (typeof d === 'number') dim = d;
    }
    out.push(dim);
  }
  return out;
}

/**
 * Product of dims as a number times a multiset of symbols, so that Reshape can infer `-1`
 * for shapes such as [N,C,H,W] -> [N,-1].
 */
interface SymbolicProduct {
  value: number;
  symbols: string[];
}

/** A symbolic dim may itself be a product, written '4*N' (attention's batch times heads). */
function product(dims: Shape): SymbolicProduct {
  let value = 1;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') value *= d;
    else {
      for (const factor of d.split('*')) {
        if (/^\d+$/.test(factor)) value *= Number(factor);
        else symbols.push(factor);
      }
    }
  }
  return { value, symbols };
}

/** A product as a dim: a number, a symbol, or the canonical '4*N' (the number first, the symbols sorted). */
function productDim({ value, symbols }: SymbolicProduct): Dim {
  if (symbols.length === 0) return value;
  const sorted = [...symbols].sort().join('*');
  return value === 1 ? sorted : `${value}*${sorted}`;
}

/** a * b for dims, symbolic ones included ('N' * 4 = '4*N'). */
export function multiplyDims(a: Dim, b: Dim): Dim {
  return productDim(product([a, b]));
}

/** `total / known`, or undefined if it does not divide exactly. */
export function divideDims(total: Shape, known: Shape): Dim | undefined {
  const t = product(total);
  const k = product(known);
  const rest = [...t.symbols];
  for (const s of k.symbols) {
    const i = rest.indexOf(s);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  if (k.value === 0 || t.value % k.value !== 0) return undefined;
  return productDim({ value: t.value / k.value, symbols: rest });
}
