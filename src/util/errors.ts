/**
 * Errors a user can act on. Entry points print an ExpectedError as one line
 * (`error: <message>`) with no stack trace; anything else is a bug and keeps its stack.
 * This module imports nothing from Node, so the browser can use it too.
 */
export class ExpectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A problem with one file: the message is `<file>: <problem>`. */
export class FileError extends ExpectedError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'not found',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  ENOTEMPTY: 'folder is not empty',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** What was thrown, in words: an Error's message, anything else as a string. */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Node's system errors (fs, child processes) carry a code such as 'ENOSPC'. */
export function isSystemError(e: unknown): e is Error & { code: string; path?: string; syscall?: string } {
  const code: unknown = e instanceof Error && 'code' in e ? e.code : undefined;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** A short reason for a system error, e.g. "no space left on device (ENOSPC)". */
export function systemErrorReason(e: unknown): string {
  if (!isSystemError(e)) return messageOf(e);
  const reason = REASONS[e.code];
  return reason ? `${reason} (${e.code})` : e.code;
}
