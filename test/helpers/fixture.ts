/** Reads the float64 PyTorch fixture (bench/pytorch_reference.py fixture) as float32 arrays. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface FixtureTensor {
  shape: number[];
  data: Float64Array | BigInt64Array;
}

export function readFixture(name: string): Map<string, FixtureTensor> {
  const file = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const data = bytes.subarray(8 + headerLength);
  const out = new Map<string, FixtureTensor>();
  for (const [key, value] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: [a, b],
    } = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const raw = data.slice(a, b);
    const typed =
      dtype === 'I64'
        ? new BigInt64Array(raw.buffer, raw.byteOffset, (b - a) / 8)
        : new Float64Array(raw.buffer, raw.byteOffset, (b - a) / 8);
    out.set(key, { shape, data: typed });
  }
  return out;
}

/** max |a - b| / max(max |b|, floor): relative, except for references that are (near) zero. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-30): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / Math.max(scale, floor);
}
