/**
 * The decoded images of a folder tree, kept between runs: a safetensors file per tree and
 * shape under the user's cache folder ($XDG_CACHE_HOME or ~/.cache, then onnx-mnist-train), never
 * in the data's own folder. It holds a fingerprint of every file it was made from (path, size,
 * modification time), so an added, removed or edited image makes it stale: it is then decoded
 * again and replaced. A damaged cache file is decoded again too; the cache is never the reason
 * a run fails.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic.node.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../util/safetensors-codec.js';
import type { ImageEntry } from './image-folder.node.js';

/** The cache's folder. */
export function cacheFolder(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'onnx-mnist-train', 'decoded');
}

export interface Decoded {
  images: Uint8Array;
  labels: Uint8Array | Uint16Array;
  /** Files that would not decode (they stay skipped while the tree is unchanged). */
  failed: string[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What the files are: their paths, sizes and modification times, hashed. */
const fingerprint = (files: readonly ImageEntry[], shape: readonly number[]): string =>
  sha256(JSON.stringify([shape, files.map((f) => [resolve(f.path), f.size, Math.round(f.mtimeMs), f.label])]));

/** The cache file of the tree at `root` decoded at `shape`. */
const cacheFile = (root: string, shape: readonly number[], dir = cacheFolder()) =>
  join(dir, `${sha256(JSON.stringify([resolve(root), shape])).slice(0, 32)}.safetensors`);

/** The cached decoding of `files`, when there is one made from exactly these files. */
export function readCache(root: string, shape: readonly number[], files: readonly ImageEntry[]): Decoded | undefined {
  const file = cacheFile(root, shape);
  try {
    const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
    if (metadata.fingerprint !== fingerprint(files, shape)) return undefined;
    const images = tensors.get('images');
    const labels = tensors.get('labels');
    if (images?.dtype !== 'U8' || (labels?.dtype !== 'U8' && labels?.dtype !== 'U16')) return undefined;
    return { images: images.data, labels: labels.data, failed: JSON.parse(metadata.failed ?? '[]') };
  } catch {
    return undefined; // none yet, or damaged: decode again
  }
}

/** Keeps a decoding for the next run (a write that fails only costs that run the time). */
export function writeCache(
  root: string,
  shape: readonly number[],
  files: readonly ImageEntry[],
  decoded: Decoded,
): void {
  const labels: SafeTensor =
    decoded.labels instanceof Uint16Array
      ? { dtype: 'U16', shape: [decoded.labels.length], data: decoded.labels }
      : { dtype: 'U8', shape: [decoded.labels.length], data: decoded.labels };
  const tensors = new Map<string, SafeTensor>([
    ['images', { dtype: 'U8', shape: [decoded.images.length], data: decoded.images }],
    ['labels', labels],
  ]);
  try {
    mkdirSync(cacheFolder(), { recursive: true });
    writeFileAtomic(
      cacheFile(root, shape),
      encodeSafetensors(tensors, {
        fingerprint: fingerprint(files, shape),
        root,
        failed: JSON.stringify(decoded.failed),
      }),
    );
  } catch {
    // a read-only or full home: the next run decodes again
  }
}
