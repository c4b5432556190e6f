/** Reads a whole file; failure becomes the caller's error, with a short reason ("file not found"). */
import { readFileSync, statSync } from 'node:fs';
import { isSystemError, systemErrorReason } from './errors.js';

export function readFileOr(file: string, fail: (problem: string) => Error, what = 'file'): Uint8Array {
  const problem = (e: unknown): string => {
    const code = isSystemError(e) ? e.code : undefined;
    if (code === 'ENOENT') return `${what} not found`;
    if (code === 'EISDIR') return 'is a folder, not a file';
    return `cannot read: ${systemErrorReason(e)}`;
  };
  let regular: boolean;
  try {
    const stat = statSync(file);
    regular = stat.isFile() || stat.isDirectory(); // a folder gets its own message from the read
  } catch (e) {
    throw fail(problem(e));
  }
  // A FIFO or a device (/dev/zero) would block or never end: only regular files are read.
  if (!regular) throw fail('not a regular file (a pipe, socket or device)');
  try {
    return readFileSync(file);
  } catch (e) {
    throw fail(problem(e));
  }
}
