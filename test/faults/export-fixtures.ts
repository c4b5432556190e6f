/** Shared by the export and data fault tests: IDX files, short real runs, edited checkpoints. */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from '../helpers/cli.js';

/** An unsigned-byte IDX file: magic 0x000008<rank>, big-endian sizes, then the bytes. */
export function idx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(4 + 4 * dims.length + data.length);
  out.writeUInt32BE(0x800 + dims.length, 0);
  dims.forEach((d, i) => {
    out.writeUInt32BE(d, 4 + 4 * i);
  });
  out.set(data, 4 + 4 * dims.length);
  return out;
}

export interface SplitSpec {
  count: number;
  rows?: number;
  cols?: number;
}

/** Writes the four MNIST-style files with `count` images of rows x cols (default 28x28) per split. */
export function writeDataDir(dir: string, train: SplitSpec, test: SplitSpec): string {
  mkdirSync(dir, { recursive: true });
  const write = (images: string, labels: string, { count, rows = 28, cols = 28 }: SplitSpec) => {
    const pixels = Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 37) % 256);
    writeFileSync(join(dir, images), idx([count, rows, cols], pixels));
    writeFileSync(
      join(dir, labels),
      idx(
        [count],
        Uint8Array.from({ length: count }, (_, i) => i % 10),
      ),
    );
  };
  write('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', train);
  write('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', test);
  return dir;
}

/** A short real training run (one step on 64 images) into `out`; returns its only checkpoint. */
export function shortRun(out: string): string {
  const r = runCli('train', [
    '--train-limit',
    '64',
    '--test-limit',
    '64',
    '--epochs',
    '1',
    '--batch-size',
    '64',
    '--threads',
    '1',
    '--out',
    out,
  ]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return join(out, 'checkpoints', 'epoch-001');
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Replaces a checkpoint file and updates any record of its SHA-256 in the folder's JSON files
 * (trainer.json), so that the edit reaches the code behind the hash check.
 */
export function replaceCheckpointFile(dir: string, name: string, bytes: Uint8Array): void {
  const file = join(dir, name);
  const before = sha256(readFileSync(file));
  writeFileSync(file, bytes);
  const after = sha256(bytes);
  for (const other of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const text = readFileSync(join(dir, other), 'utf8');
    if (text.includes(before)) writeFileSync(join(dir, other), text.replaceAll(before, after));
  }
}
