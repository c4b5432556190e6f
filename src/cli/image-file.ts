/**
 * Reading an untrusted picture for `predict`. The bytes are read here (so a permission problem
 * is reported as such), recognised by their magic bytes, and only the five raster formats go to
 * sharp, as bytes: SVG could follow `<image href>` to local files, and other formats are out
 * of scope. EXIF orientation is applied, so a phone photo reads as it is seen.
 */
import sharp from 'sharp';
import type { RgbaImage } from '../preprocess/mnist-style.js';
import { FileError } from '../util/errors.js';
import { readFileOr } from '../util/read-file.js';

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
export const NOT_AN_IMAGE = 'not an image (unsupported or unrecognised format)';

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
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4096)).replace(/^\uFEFF/, '').trimStart();
  if (!head.startsWith('<')) return undefined;
  if (/<svg[\s>/]/i.test(head)) return 'SVG';
  if (/^<!doctype html|^<html[\s>]/i.test(head)) return 'HTML';
  return 'XML';
}

/** The raster format of the bytes, or the reason they are refused. */
export function sniff(bytes: Uint8Array): { format: RasterFormat } | { problem: string } {
  const raster = RASTER.find(([, is]) => is(bytes));
  if (raster) return { format: raster[0] };
  const kind = refusedKind(bytes);
  return { problem: kind ? `${kind} is not accepted: predict reads raster images (${ACCEPTED})` : NOT_AN_IMAGE };
}

/** Decodes an image file to upright RGBA pixels, or throws an ImageError with a one-line reason. */
export async function readImage(file: string): Promise<RgbaImage> {
  const bytes = readFileOr(file, (problem) => new ImageError(file, problem));
  const sniffed = sniff(bytes);
  if ('problem' in sniffed) throw new ImageError(file, sniffed.problem);
  try {
    const image = sharp(bytes);
    // libvips picks its own loader; make sure it is the one the magic bytes promised.
    const { format } = await image.metadata();
    if (format !== sniffed.format) throw new Error(`read as ${format}, not ${sniffed.format}`);
    const { data, info } = await image.autoOrient().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data };
  } catch (e) {
    throw new ImageError(file, `cannot decode the image (${(e as Error).message.split('\n')[0]})`);
  }
}
