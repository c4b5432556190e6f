/**
 * Pen strokes traced from an MNIST digit, so a browser test can draw it with real pointer
 * moves: threshold, thin to a one-pixel skeleton (Zhang-Suen), then walk the skeleton into
 * polylines, longest first.
 */
type Point = [number, number];

const SIDE = 28;
const NEIGHBOURS: Point[] = [
  [0, -1],
  [1, -1],
  [1, 0],
  [1, 1],
  [0, 1],
  [-1, 1],
  [-1, 0],
  [-1, -1],
];

function thin(on: Uint8Array): Uint8Array {
  const img = Uint8Array.from(on);
  const at = (x: number, y: number) => (x >= 0 && y >= 0 && x < SIDE && y < SIDE ? img[y * SIDE + x] : 0);
  for (let changed = true; changed; ) {
    changed = false;
    for (const pass of [0, 1]) {
      const remove: number[] = [];
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          if (!at(x, y)) continue;
          const p = NEIGHBOURS.map(([dx, dy]) => at(x + dx, y + dy)); // p2..p9, clockwise from north
          const b = p.reduce((s, v) => s + v, 0);
          const a = p.filter((v, i) => v === 0 && p[(i + 1) % 8] === 1).length;
          const [p2, , p4, , p6, , p8] = p;
          const ok = pass === 0 ? p2 * p4 * p6 === 0 && p4 * p6 * p8 === 0 : p2 * p4 * p8 === 0 && p2 * p6 * p8 === 0;
          if (b >= 2 && b <= 6 && a === 1 && ok) remove.push(y * SIDE + x);
        }
      }
      for (const i of remove) img[i] = 0;
      changed ||= remove.length > 0;
    }
  }
  return img;
}

/** Polylines in 28x28 pixel coordinates that retrace the digit's skeleton. */
export function digitStrokes(pixels: ArrayLike<number>, threshold = 100): Point[][] {
  const skeleton = thin(Uint8Array.from({ length: SIDE * SIDE }, (_, i) => (pixels[i] > threshold ? 1 : 0)));
  const left = new Set<number>();
  skeleton.forEach((v, i) => {
    if (v) left.add(i);
  });
  const neighbours = (i: number) =>
    NEIGHBOURS.map(([dx, dy]) => [(i % SIDE) + dx, Math.floor(i / SIDE) + dy])
      .filter(([x, y]) => x >= 0 && y >= 0 && x < SIDE && y < SIDE)
      .map(([x, y]) => y * SIDE + x)
      .filter((j) => skeleton[j]);
  const strokes: Point[][] = [];
  while (left.size) {
    // Start at an end of a line where there is one, so strokes are not split needlessly.
    const start = [...left].find((i) => neighbours(i).filter((j) => left.has(j)).length === 1) ?? [...left][0];
    const stroke: Point[] = [];
    for (let i: number | undefined = start; i !== undefined; ) {
      left.delete(i);
      stroke.push([i % SIDE, Math.floor(i / SIDE)]);
      i = neighbours(i).find((j) => left.has(j));
    }
    strokes.push(stroke);
  }
  return strokes.filter((s) => s.length >= 2).sort((a, b) => b.length - a.length);
}
