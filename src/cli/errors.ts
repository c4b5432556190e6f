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
function oneLine(e: unknown): string | undefined {
  if (e instanceof ExpectedError) return e.message;
  if (isSystemError(e) && e.path) return `${e.path}: ${systemErrorReason(e)}`;
  return undefined;
}

/** What the command is waiting for now, named for the error should it never finish (see `settled`). */
let awaiting: string | undefined;

/**
 * `work`, awaited under a name: if the process runs out of things to do while it is pending (a
 * model file whose top-level await never settles), the command fails in one line naming it
 * instead of exiting 0 with nothing done.
 */
export async function settled<T>(what: string, work: Promise<T>): Promise<T> {
  awaiting = what;
  try {
    return await work;
  } finally {
    awaiting = undefined;
  }
}

export function runCommand(main: () => Promise<void>): void {
  let finished = false;
  // Node exits when nothing is left to do, even with the command's promise unsettled (exit 0, no output).
  process.once('beforeExit', () => {
    if (finished) return;
    console.error(`error: ${awaiting ?? 'the command'}: never finished (a top-level await that never settles?)`);
    process.exit(1);
  });
  main()
    .then(() => {
      finished = true;
    })
    .catch((e: unknown) => {
      const line = oneLine(e);
      console.error(line === undefined ? e : `error: ${line}`);
      process.exit(1);
    });
}

/** A checkpoint passed over on resume or export, as one warning line on stderr. */
export function warnSkipped(dir: string, problem: string): void {
  console.error(`warning: skipping checkpoint ${dir}: ${problem}`);
}
