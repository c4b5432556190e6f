/**
 * A folder of images, one subfolder per class, as torchvision's ImageFolder and Keras's
 * image_dataset_from_directory read it: class names are the subfolders' names, sorted; each
 * image (PNG, JPEG, WebP, GIF, TIFF; grayscale or colour, any size) is decoded once by sharp,
 * its EXIF orientation applied, resized to the model's input shape (stretched, as Keras does)
 * and kept as bytes, [C, H, W]. Symbolic links to folders are not followed (a loop would never
 * end); files that are not images, or are damaged, are skipped and counted, the first named.
 * The decoded bytes are cached (decode-cache.node.ts), so a second run starts in a fraction of the time.
 */
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { DataError } from './idx-format.js';
import { byName, classFoldersProblem, classOrder, EMPTY_CLASS, inFileNameOrder, isImageName } from './image-tree.js';
import { isSystemError, messageOf } from '../util/errors.js';

/** One image file of the tree, with its class and what identifies its content for the cache. */
export interface ImageEntry {
  path: string;
  label: number;
  size: number;
  mtimeMs: number;
}

/** The most images one data set may hold: beyond it, memory, not the loader, is the limit to say. */
const MAX_IMAGES = 2_000_000;

/** The entries of a folder, sorted by name (the order ImageFolder uses), links to folders not followed. */
function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => byName(a.name, b.name));
  } catch (e) {
    throw new DataError(dir, `cannot read the folder (${isSystemError(e) ? e.code : messageOf(e)})`);
  }
}

/** Every file under `dir`, recursively, in sorted order; folders reached through links are skipped. */
function filesUnder(dir: string, out: string[] = []): string[] {
  for (const e of entries(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory()) filesUnder(path, out);
    else if (e.isFile() || (e.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isFile())) out.push(path);
    if (out.length > MAX_IMAGES)
      throw new DataError(dir, `holds more than ${MAX_IMAGES.toLocaleString('en-US')} files`);
  }
  return out;
}

/**
 * The class folders of a tree (its subfolders, sorted or in `classList`'s order; `exclude` left
 * out) and its images in file-name order.
 */
export function scanTree(
  root: string,
  exclude: readonly string[] = [],
  classList?: { names: readonly string[]; file: string },
): { classNames: string[]; files: ImageEntry[]; ignored: string[] } {
  const folders = entries(root).filter((e) => e.isDirectory() && !exclude.includes(e.name) && !e.name.startsWith('.'));
  const problem = classFoldersProblem(folders.map((c) => c.name));
  if (problem) throw new DataError(root, problem);
  const classNames = classOrder(
    folders.map((c) => c.name),
    classList?.names,
    classList?.file ?? '',
  );
  const files: ImageEntry[] = [];
  const ignored: string[] = [];
  classNames.forEach((name, label) => {
    const all = filesUnder(join(root, name));
    const images = all.filter(isImageName);
    ignored.push(...all.filter((f) => !isImageName(f)));
    if (images.length === 0) throw new DataError(join(root, name), EMPTY_CLASS);
    for (const path of images) {
      const { size, mtimeMs } = statSync(path);
      files.push({ path, label, size, mtimeMs });
    }
  });
  return {
    classNames,
    files: inFileNameOrder(files, (f) => f.path),
    ignored: ignored.map((f) => relative(root, f)),
  };
}

/**
 * One image as bytes [C, H, W] at `shape` (its EXIF orientation applied, stretched to the
 * shape, alpha dropped as PIL's convert('RGB') drops it), or undefined when sharp cannot decode
 * it. `predict` reads a picture for a model of such data the same way (from its bytes).
 */
export async function decodeImage(
  path: string | Uint8Array,
  [channels, height, width]: readonly number[],
): Promise<Uint8Array | undefined> {
  try {
    let image = sharp(path, { failOn: 'error', limitInputPixels: 50_000_000 })
      .rotate()
      .resize(width, height, { fit: 'fill' })
      .removeAlpha();
    image = channels === 1 ? image.grayscale() : image.toColourspace('srgb');
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) return undefined;
    const plane = height * width;
    const out = new Uint8Array(channels * plane);
    for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[c * plane + p] = data[p * channels + c];
    return out;
  } catch {
    return undefined;
  }
}

/** Decodes `files` at `shape`, a few at a time, telling `onProgress` how far it got. */
export async function decodeImages(
  files: readonly ImageEntry[],
  shape: readonly number[],
  onProgress: (done: number) => void = () => {},
): Promise<{ images: Uint8Array; labels: Uint8Array | Uint16Array; kept: number; failed: string[] }> {
  const size = shape.reduce((a, b) => a * b, 1);
  const images = new Uint8Array(files.length * size);
  const classes = files.reduce((m, f) => Math.max(m, f.label + 1), 0);
  const labels = classes > 256 ? new Uint16Array(files.length) : new Uint8Array(files.length);
  const failed: string[] = [];
  let kept = 0;
  const BATCH = 32; // sharp decodes in its own threads: a few at once keeps them busy
  for (let start = 0; start < files.length; start += BATCH) {
    const part = files.slice(start, start + BATCH);
    const decoded = await Promise.all(part.map((f) => decodeImage(f.path, shape)));
    for (const [i, pixels] of decoded.entries()) {
      if (!pixels) {
        failed.push(part[i].path);
        continue;
      }
      images.set(pixels, kept * size);
      labels[kept++] = part[i].label;
    }
    onProgress(Math.min(start + BATCH, files.length));
  }
  return { images: images.subarray(0, kept * size), labels: labels.subarray(0, kept), kept, failed };
}
