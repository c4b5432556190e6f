/**
 * Atomic writes: a crash leaves either the old file or the new one, never half of one.
 * Data goes to `<path>.tmp-<pid>` and is renamed into place. A temporary of the same target
 * left by a process that no longer runs (killed mid-write) is removed before writing. A
 * failed write throws a WriteError naming the target, not the temporary, and leaves no
 * temporary behind.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileError, isSystemError, systemErrorReason } from './errors.js';
import { isAlive } from './pid.js';

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

const temporary = (path: string): string => `${path}.tmp-${process.pid}`;

/** rmSync that never throws: cleanup must not hide the error that caused it (rmSync's force still throws ENOTDIR). */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing was there to remove, or it cannot be removed: either way nothing more to do
  }
}

/** Removes `<path>.tmp-<pid>` files whose process is gone. Best effort: the write itself reports real problems. */
export function removeStaleTemporaries(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const digits = name.slice(prefix.length);
    if (!/^\d+$/.test(digits) || Number(digits) === process.pid || isAlive(Number(digits))) continue;
    removeQuietly(join(dir, name)); // if it cannot be removed, writing will say why
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
      return new WriteError(path, existsSync(dir) ? `cannot create a file in ${dir} (${e.code})` : `the folder ${dir} does not exist (${e.code})`, e.code);
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
  let current = '';
  try {
    for (const [path, data] of files) {
      current = path;
      removeStaleTemporaries(path);
      writeFileSync(temporary(path), data);
    }
    for (const [path] of files) {
      current = path;
      renameSync(temporary(path), path);
    }
  } catch (e) {
    for (const [path] of files) removeQuietly(temporary(path));
    throw writeError(current, e);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeFilesAtomic([[path, data]]);
}

/** Creates and removes the temporary of `path`: proves early that the folder takes new files. */
export function probeWritable(path: string): void {
  removeStaleTemporaries(path);
  try {
    writeFileSync(temporary(path), '');
  } catch (e) {
    throw writeError(path, e);
  } finally {
    removeQuietly(temporary(path));
  }
}
