/** Reads a whole file, or a part of one; failure becomes the caller's error, with a short reason ("file not found"). */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isSystemError, systemErrorReason } from './errors.js';

/** A path as Node opens it: a string, or the bytes of a name that is not UTF-8 (read from a folder). */
export type FilePath = string | Buffer;

function readProblem(e: unknown, what: string): string {
  const code = isSystemError(e) ? e.code : undefined;
  if (code === 'ENOENT') return `${what} not found`;
  if (code === 'EISDIR') return 'is a folder, not a file';
  return `cannot read: ${systemErrorReason(e)}`;
}

export function readFileOr(file: FilePath, fail: (problem: string) => Error, what = 'file'): Uint8Array {
  let regular: boolean;
  try {
    const stat = statSync(file);
    regular = stat.isFile() || stat.isDirectory(); // a folder gets its own message from the read
  } catch (e) {
    throw fail(readProblem(e, what));
  }
  // A FIFO or a device (/dev/zero) would block or never end: only regular files are read.
  if (!regular) throw fail('not a regular file (a pipe, socket or device)');
  try {
    return readFileSync(file);
  } catch (e) {
    throw fail(readProblem(e, what));
  }
}

/**
 * `length` bytes of a regular file from `offset` (to its end when length is undefined), read
 * alone: a 288-byte tensor at the start of a large file does not read the file whole.
 */
export function readRangeOr(
  file: string,
  offset: number,
  length: number | undefined,
  fail: (problem: string) => Error,
): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw fail(readProblem(e, 'file'));
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw fail('not a regular file (a pipe, socket or device)');
    const size = length ?? stat.size - offset;
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(size) && offset >= 0 && size >= 0))
      throw fail(`offset ${offset} and length ${length} are not byte counts`);
    if (offset + size > stat.size)
      throw fail(`offset ${offset} and length ${size} do not fit its file (${stat.size} bytes)`);
    const out = new Uint8Array(size);
    for (let done = 0; done < size; ) {
      const n = readSync(fd, out, done, size - done, offset + done);
      if (n === 0) throw fail(`the file ended at ${offset + done} bytes`);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
