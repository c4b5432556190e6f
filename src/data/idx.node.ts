/**
 * Validated reader for IDX files (the MNIST container format), plain or gzipped, from disk.
 * The format itself (parseIdx, DataError) lives in idx-format.ts, which uses no Node API so
 * the browser shares it; this module adds reading the file and gunzipping it.
 */
import { gunzipSync } from 'node:zlib';
import { readFileOr } from '../util/read-file.node.js';
import { DataError, isGzip } from './idx-format.js';
import { messageOf } from '../util/errors.js';

/** A file's IDX bytes, gunzipped if the file is gzipped (by its magic bytes, not its name). */
export function readIdxBytes(file: string): Uint8Array {
  const bytes = readFileOr(file, (problem) => new DataError(file, problem));
  if (isGzip(bytes)) {
    try {
      return gunzipSync(bytes);
    } catch (e) {
      throw new DataError(file, `corrupt gzip data (${messageOf(e)})`);
    }
  }
  return bytes;
}
