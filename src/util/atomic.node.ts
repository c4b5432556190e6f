/**
 * Atomic writes: a crash leaves either the old file or the new one, never half of one.
 * Data goes to a temporary beside the target, `<name>.tmp-<pid>-<random>` (or
 * `.tmp-<pid>-<random>` where a long name would exceed the file system's 255 bytes), created
 * exclusively (O_EXCL: never through a link or into a file someone else made), then renamed
 * into place. Only temporaries this process created are ever removed: one left by a killed
 * writer stays, under a name that says what it is. A failed write throws a WriteError naming
 * the target, not the temporary, and leaves no temporary of its own behind.
 */
import { closeSync, existsSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { FileError, isSystemError, systemErrorReason } from './errors.js';

/**
 * A write that failed: `<path>: cannot write: <why>`. It keeps the system error's code, so
 * callers that handle system errors by code (ENOSPC, ...) still recognise it.
 */
export class WriteError extends FileError {
  constructor(
    path: string,
    problem: string,
    readonly code: string,
  ) {
    super(path, `cannot write: ${problem}`);
  }
}

const NAME_MAX = 255;

/** A fresh temporary name beside `path`. */
function temporaryName(path: string): string {
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const name = basename(path);
  return join(dirname(path), Buffer.byteLength(name + suffix) <= NAME_MAX ? name + suffix : suffix);
}

/** Creates a new temporary beside `path` holding `data`, exclusively; returns its path. */
function writeTemporary(path: string, data: string | Uint8Array): string {
  for (let attempt = 0; ; attempt++) {
    const temp = temporaryName(path);
    let fd: number;
    try {
      fd = openSync(temp, 'wx'); // O_CREAT|O_EXCL: fails on anything there, a planted link included
    } catch (e) {
      if (isSystemError(e) && e.code === 'EEXIST' && attempt < 8) continue;
      throw e;
    }
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (e) {
      closeSync(fd);
      removeQuietly(temp);
      throw e;
    }
    closeSync(fd);
    return temp;
  }
}

/** rmSync that never throws: cleanup must not hide the error that caused it (rmSync's force still throws ENOTDIR). */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing was there to remove, or it cannot be removed: either way nothing more to do
  }
}

/** The nearest part of `path` that exists (the path itself, or a folder above it). */
export function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/** Why `path` cannot be written, judged from what exists, or undefined when nothing is in the way. */
export function unwritableReason(path: string): string | undefined {
  if (existsSync(path)) return statSync(path).isFile() ? undefined : 'is a folder, not a file';
  const above = nearestExisting(dirname(path));
  return statSync(above).isDirectory() ? undefined : `${above} is a file, not a folder`;
}

/** A system error from writing `path`, told in terms of `path`. */
export function writeError(path: string, e: unknown): unknown {
  if (e instanceof WriteError || !isSystemError(e)) return e;
  const dir = dirname(path);
  const reason = systemErrorReason(e);
  switch (e.code) {
    case 'ENOENT':
      // The folder exists, yet no file can be made in it: /proc, /sys and the like.
      return new WriteError(
        path,
        existsSync(dir) ? `cannot create a file in ${dir} (${e.code})` : `the folder ${dir} does not exist (${e.code})`,
        e.code,
      );
    case 'ENOTDIR':
    case 'EEXIST':
    case 'EISDIR':
      return new WriteError(path, `${unwritableReason(path) ?? reason} (${e.code})`, e.code);
    default:
      return new WriteError(path, reason, e.code);
  }
}

/**
 * Writes several files, each atomically: every temporary first, then the renames in the
 * given order. A failure before the renames changes no target. Put last the file that
 * vouches for the others (a hash of them), so a crash between renames is detectable.
 */
export function writeFilesAtomic(files: readonly (readonly [path: string, data: string | Uint8Array])[]): void {
  const temporaries: string[] = [];
  let current = '';
  try {
    for (const [path, data] of files) {
      current = path;
      temporaries.push(writeTemporary(path, data));
    }
    files.forEach(([path], i) => {
      current = path;
      renameSync(temporaries[i], path);
    });
  } catch (e) {
    for (const temp of temporaries) removeQuietly(temp);
    throw writeError(current, e);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeFilesAtomic([[path, data]]);
}

/** Creates and removes a temporary beside `path`: proves early that the folder takes new files. */
export function probeWritable(path: string): void {
  let temp: string | undefined;
  try {
    temp = writeTemporary(path, '');
  } catch (e) {
    throw writeError(path, e);
  } finally {
    if (temp) removeQuietly(temp);
  }
}
