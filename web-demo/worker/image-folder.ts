/**
 * The user's folder of images in the worker: each file decoded by the browser
 * (createImageBitmap, its EXIF orientation applied, stretched to the model's input size as
 * `--data` stretches it) and kept as bytes [C, H, W], within a stated budget: beyond it, one
 * line saying how many images fit, before anything is decoded. Files the browser cannot decode
 * are skipped and counted. Grey is PIL's convert('L') (ITU-R 601 luma); alpha is dropped.
 */
import type { ByteSplit } from '../../src/data/dataset.js';
import { holdOut } from '../../src/data/hold-out.js';
import { DataError } from '../../src/data/idx-format.js';
import { decodedSizeProblem, sampledInputShape } from '../../src/data/image-tree.js';
import type { ImageFolderUpload, LabelledFiles } from '../shared/protocol.js';

/** The decoded images a page may hold: 512 MB, a quarter of what a 32-bit WebAssembly tab can address at most. */
const PAGE_DECODED_BUDGET = 512 * 1024 ** 2;
/** The share of a folder without a test split held out to test on (as `--val-split`'s default). */
const HELD_OUT = 0.1;

/** One image as bytes [C, H, W] at `shape`, or undefined when the browser cannot decode it. */
async function decodeFile(file: Blob, [channels, height, width]: readonly number[]): Promise<Uint8Array | undefined> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, {
      resizeWidth: width,
      resizeHeight: height,
      resizeQuality: 'high',
      premultiplyAlpha: 'none',
    });
  } catch {
    return undefined;
  }
  const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('this browser gives no 2D canvas in a worker: images cannot be decoded');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const plane = width * height;
  const out = new Uint8Array(channels * plane);
  for (let p = 0; p < plane; p++) {
    const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
    if (channels === 1) out[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else [out[p], out[plane + p], out[2 * plane + p]] = [r, g, b];
  }
  return out;
}

/**
 * The input shape for the built-in seed CNN: colour 32x32 when a
 * few images spread over the folder hold colour, else grey 28x28.
 */
export async function folderInputShape(folder: ImageFolderUpload): Promise<number[]> {
  const { files } = folder.train;
  return sampledInputShape(files.length, (i) => decodeFile(files[i], [3, 32, 32]));
}

/** One split decoded at `shape`, telling `onProgress` how far it got; undecodable files skipped and named. */
async function decodeSplit(
  part: LabelledFiles,
  shape: readonly number[],
  classNames: string[],
  onProgress: (done: number) => void,
): Promise<{ split: ByteSplit; failed: string[] }> {
  const size = shape.reduce((a, b) => a * b, 1);
  const images = new Uint8Array(part.files.length * size);
  const labels = new Uint8Array(part.files.length);
  const failed: string[] = [];
  let kept = 0;
  for (const [i, file] of part.files.entries()) {
    const pixels = await decodeFile(file, shape);
    if (pixels) {
      images.set(pixels, kept * size);
      labels[kept++] = part.labels[i];
    } else failed.push(file.name);
    if (i % 100 === 99) onProgress(i + 1);
  }
  const split = {
    images: images.subarray(0, kept * size),
    labels: labels.subarray(0, kept),
    count: kept,
    shape,
    classNames,
  };
  return { split, failed };
}

export interface DecodedFolder {
  train: ByteSplit;
  test: ByteSplit;
  /** What the user should hear: skipped files, a held-out share. */
  notes: string[];
}

/** The folder decoded at `shape`: its own test split, or a seeded share of its images held out. */
export async function decodeFolder(
  folder: ImageFolderUpload,
  shape: readonly number[],
  seed: number,
  onProgress: (done: number, total: number) => void,
): Promise<DecodedFolder> {
  const { name, classNames } = folder;
  if (classNames.length > 256) throw new DataError(name, `has ${classNames.length} classes; the page takes up to 256`);
  const total = folder.train.files.length + (folder.test?.files.length ?? 0);
  const tooBig = decodedSizeProblem(total, shape, PAGE_DECODED_BUDGET, "this page's budget");
  if (tooBig) throw new DataError(name, tooBig);
  const notes: string[] = [];
  const decoded = async (part: LabelledFiles, before: number) => {
    const { split, failed } = await decodeSplit(part, shape, classNames, (done) => onProgress(before + done, total));
    if (failed.length > 0)
      notes.push(
        `skipped ${failed.length} file${failed.length > 1 ? 's' : ''} this browser cannot decode ` +
          `(${failed[0]}${failed.length > 1 ? ', ...' : ''})`,
      );
    if (split.count === 0) throw new DataError(name, 'none of its images would decode');
    return split;
  };
  const train = await decoded(folder.train, 0);
  if (folder.test) return { train, test: await decoded(folder.test, folder.train.files.length), notes };
  const held = holdOut(train, HELD_OUT, seed);
  notes.push(
    `no test/ folder: ${held.test.count} of ${train.count} images (10%, drawn from the seed) held out to test on`,
  );
  return { ...held, notes };
}
