/**
 * Entry-point wrapper. Expected failures (an ExpectedError, or a system error such as
 * ENOSPC or EACCES on a named file) print one line, `error: <file>: <problem>`; anything else
 * is a bug and prints its stack. Either way the process exits with 1 at once, so no worker
 * thread or native session left open can keep it alive.
 */
import { ExpectedError, isSystemError, systemErrorReason } from '../util/errors.js';

/** A bad flag or flag combination. */
export class UsageError extends ExpectedError {}

/** The one line a user sees for an error, or undefined for a bug (which keeps its stack). */
export function oneLine(e: unknown): string | undefined {
  if (e instanceof ExpectedError) return e.message;
  if (isSystemError(e) && e.path) return `${e.path}: ${systemErrorReason(e)}`;
  return undefined;
}

export function runCommand(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    const line = oneLine(e);
    console.error(line === undefined ? e : `error: ${line}`);
    process.exit(1);
  });
}

/** A checkpoint passed over on resume or export, as one warning line on stderr. */
export function warnSkipped(dir: string, problem: string): void {
  console.error(`warning: skipping checkpoint ${dir}: ${problem}`);
}
