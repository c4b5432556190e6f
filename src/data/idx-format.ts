/**
 * The IDX container format (MNIST's), parsed from bytes already in memory:
 *   magic: 0x00 0x00 <type> <ndims>, then ndims big-endian uint32 sizes, then the data.
 * Only unsigned bytes (type 0x08) are accepted: that is what MNIST-style data sets use.
 * No Node API here, so the browser parses the files it fetched with the very same checks.
 */
import { FileError } from '../util/errors.js';

/** Bad data: the message names the file and says what is wrong, on one line. */
export class DataError extends FileError {}

export interface IdxArray {
  /** Sizes, e.g. [60000, 28, 28]. */
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/** True for bytes that start like a gzip stream (magic 1f 8b). */
export const isGzip = (bytes: Uint8Array): boolean => bytes[0] === 0x1f && bytes[1] === 0x8b;

/** Parses IDX bytes; `file` is only used in error messages. */
export function parseIdx(bytes: Uint8Array, file: string, expectedRank?: number): IdxArray {
  if (bytes.length < 4) throw new DataError(file, `truncated: ${bytes.length} bytes, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const rank = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== UBYTE || rank === 0 || (expectedRank && rank !== expectedRank)) {
    const want = expectedRank ? `0x000008${expectedRank.toString(16).padStart(2, '0')}` : '0x000008NN';
    throw new DataError(
      file,
      `wrong magic number 0x${magic.toString(16).padStart(8, '0')}, expected ${want} (unsigned-byte IDX)`,
    );
  }
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize)
    throw new DataError(file, `truncated: the header needs ${headerSize} bytes, the file has ${bytes.length}`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerSize;
  if (actual !== expected) {
    const what = actual < expected ? 'truncated' : 'too long';
    throw new DataError(
      file,
      `${what}: header says ${dims.join('x')} = ${expected} bytes of data, the file has ${actual}`,
    );
  }
  return { dims, data: bytes.subarray(headerSize) };
}
