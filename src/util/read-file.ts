/** Reads a whole file; failure becomes the caller's error, with a short reason ("file not found"). */
import { readFileSync } from 'node:fs';
import { systemErrorReason } from './errors.js';

export function readFileOr(file: string, fail: (problem: string) => Error, what = 'file'): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fail(`${what} not found`);
    if (code === 'EISDIR') throw fail('is a folder, not a file');
    throw fail(`cannot read: ${systemErrorReason(e)}`);
  }
}
