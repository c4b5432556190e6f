/**
 * Reading an untrusted picture for `predict`. The bytes are read here (so a permission problem
 * is reported as such), recognised by their magic bytes, and only the five raster formats go to
 * sharp, as bytes: SVG could follow `<image href>` to local files, and other formats are out
 * of scope. EXIF orientation is applied, so a phone photo reads as it is seen.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS, type RgbaImage } from '../preprocess/mnist-style.js';
import { FileError, systemErrorReason, messageOf } from '../util/errors.js';
import { type FilePath, readFileOr } from '../util/read-file.node.js';

/** A picture predict cannot use; `problem` is the message without the file name. */
export class ImageError extends FileError {
  constructor(
    file: string,
    readonly problem: string,
  ) {
    super(file, problem);
  }
}

export type RasterFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff';

export const ACCEPTED = 'PNG, JPEG, WebP, GIF, TIFF';
const NOT_AN_IMAGE = 'not an image (unsupported or unrecognised format)';

const startsWith = (bytes: Uint8Array, magic: readonly number[], at = 0): boolean =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);
const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

const RASTER: readonly [RasterFormat, (b: Uint8Array) => boolean][] = [
  ['png', (b) => startsWith(b, [0x89, ...ascii('PNG\r\n'), 0x1a, 0x0a])],
  ['jpeg', (b) => startsWith(b, [0xff, 0xd8, 0xff])],
  ['webp', (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8)],
  ['gif', (b) => startsWith(b, ascii('GIF87a')) || startsWith(b, ascii('GIF89a'))],
  // Classic and BigTIFF, either byte order.
  ['tiff', (b) => [ascii('II*\0'), ascii('MM\0*'), ascii('II+\0'), ascii('MM\0+')].some((m) => startsWith(b, m))],
];

/** Names a format we refuse on purpose, so the message says what the file is. */
function refusedKind(bytes: Uint8Array): string | undefined {
  if (startsWith(bytes, ascii('%PDF-'))) return 'PDF';
  if (startsWith(bytes, ascii('ftyp'), 4)) return 'HEIF/AVIF';
  // Markup may start with a byte-order mark, blank lines, an XML declaration or comments.
  const head = new TextDecoder('utf-8', { fatal: false })
    .decode(bytes.subarray(0, 4096))
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (!head.startsWith('<')) return undefined;
  if (/<svg[\s>/]/i.test(head)) return 'SVG';
  if (/^<!doctype html|^<html[\s>]/i.test(head)) return 'HTML';
  return 'XML';
}

/** The raster format of the bytes, or the reason they are refused. */
function sniff(bytes: Uint8Array): { format: RasterFormat } | { problem: string } {
  const raster = RASTER.find(([, is]) => is(bytes));
  if (raster) return { format: raster[0] };
  const kind = refusedKind(bytes);
  return { problem: kind ? `${kind} is not accepted: predict reads raster images (${ACCEPTED})` : NOT_AN_IMAGE };
}

/**
 * Decodes an image file to upright RGBA pixels, or throws an ImageError with a one-line reason
 * naming `file`; `path` is what is opened (the bytes of a name that is not UTF-8).
 */
export async function readImage(file: string, path: FilePath = file): Promise<RgbaImage> {
  const bytes = readFileOr(path, (problem) => new ImageError(file, problem));
  const sniffed = sniff(bytes);
  if ('problem' in sniffed) throw new ImageError(file, sniffed.problem);
  // Only the header is read here: the size is checked before anything
  // is decoded (a header sharp cannot read is the decoder's to report).
  const { width = 0, height = 0 } = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => ({ width: 0, height: 0 }));
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageError(
      file,
      `is ${width}x${height} pixels (${((width * height) / 1e6).toFixed(0)} megapixels), ` +
        `more than predict reads (${MAX_IMAGE_PIXELS / 1e6}); scale it down`,
    );
  }
  const image = sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS });
  try {
    // libvips picks its own loader; make sure it is the one the magic bytes promised.
    const { format } = await image.metadata();
    if (format !== sniffed.format) throw new Error(`read as ${format}, not ${sniffed.format}`);
    const { data, info } = await image.autoOrient().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data };
  } catch (e) {
    throw new ImageError(file, `cannot decode the image (${messageOf(e).split('\n')[0]})`);
  }
}

/**
 * One image predict was asked for: a path, or where a folder held none, that folder and why.
 * `file` is the name as text (a byte that is not UTF-8 shown as U+FFFD); `path`, where they
 * differ, the bytes that open it.
 */
export type ImageArgument = PathText & { problem?: string };

/** A path as text, and as the bytes that open it where they differ. */
type PathText = { file: string; path?: Buffer };

/** File names predict takes from a folder: the accepted formats' extensions (the rest any characters, newlines too). */
const IMAGE_NAME = /^[^.].*\.(png|jpe?g|webp|gif|tiff?)$/is;

/** A path's text, and its bytes where the text cannot stand for them (a Latin-1 name, read from a folder or stdin). */
function pathOf(bytes: Buffer): PathText {
  const file = bytes.toString('utf8');
  return Buffer.from(file, 'utf8').equals(bytes) ? { file } : { file, path: bytes };
}

/** Whether `path` is a folder; anything unreadable counts as a file, so that reading it reports why. */
function isFolder(path: FilePath): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The image files of a folder, in name order (not its subfolders, not hidden files), names read as bytes. */
function folderImages(dir: PathText): ImageArgument[] {
  let names: Buffer[];
  try {
    names = readdirSync(dir.path ?? dir.file, { encoding: 'buffer' });
  } catch (e) {
    return [{ file: dir.file, problem: `cannot list the folder: ${systemErrorReason(e)}` }];
  }
  const base = dir.path ?? Buffer.from(dir.file, 'utf8');
  const prefix = base.at(-1) === sep.charCodeAt(0) ? base : Buffer.concat([base, Buffer.from(sep)]);
  const files = names
    .map((bytes) => ({ name: bytes.toString('utf8'), bytes }))
    .filter(({ name }) => IMAGE_NAME.test(name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Buffer.compare(a.bytes, b.bytes)))
    .map(({ name, bytes }) => ({ ...pathOf(Buffer.concat([prefix, bytes])), file: join(dir.file, name) }))
    .filter((f) => !isFolder(f.path ?? f.file));
  return files.length
    ? files
    : [{ file: dir.file, problem: 'a folder with no image files (.png, .jpg, .jpeg, .webp, .gif, .tif, .tiff)' }];
}

/** Non-empty lines of a stream, as bytes (a path need not be UTF-8): the paths piped to `predict -`. */
async function pathLines(input: NodeJS.ReadableStream): Promise<PathText[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const all = Buffer.concat(chunks);
  const paths: PathText[] = [];
  let start = 0;
  while (start < all.length) {
    let end = all.indexOf(0x0a, start);
    if (end < 0) end = all.length;
    const line = all.subarray(start, end > start && all[end - 1] === 0x0d ? end - 1 : end);
    if (line.toString('utf8').trim() !== '') paths.push(pathOf(Buffer.from(line)));
    start = end + 1;
  }
  return paths;
}

/**
 * A name from the command line that is not found and holds U+FFFD: Node decodes arguments as
 * UTF-8, so a Latin-1 name (`caf\xe9.png`) cannot be opened by it; say so, not "file not found".
 */
function argumentProblem(file: string): string | undefined {
  if (!file.includes('\uFFFD') || isFolder(file)) return undefined;
  try {
    statSync(file);
    return undefined;
  } catch {
    return (
      'file not found: its name is not UTF-8, which a command-line argument cannot pass on here; ' +
      "give its folder, or its path on stdin with '-'"
    );
  }
}

/**
 * What predict's arguments stand for, in order: a file is itself, a folder its image files,
 * `-` the paths read from `stdin` (themselves files or folders). A long list on stdin or as a
 * folder needs no long command line.
 */
export async function expandImageArguments(
  args: readonly string[],
  stdin: NodeJS.ReadableStream,
): Promise<ImageArgument[]> {
  const out: ImageArgument[] = [];
  let piped: PathText[] | undefined;
  for (const arg of args) {
    if (arg === '-') piped ??= await pathLines(stdin);
    const paths = arg === '-' ? (piped ?? []) : [{ file: arg }];
    for (const path of paths) {
      const problem = arg === '-' ? undefined : argumentProblem(path.file);
      if (problem) out.push({ file: path.file, problem });
      else out.push(...(isFolder(path.path ?? path.file) ? folderImages(path) : [path]));
    }
  }
  return out;
}
