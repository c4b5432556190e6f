/**
 * Run folders for the CLI tests: the quick recipe's flags, and a
 * run trained once and copied fresh for each test that changes it.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import { runCli } from './cli.js';

/** `npm run train` flags for a run of seconds: 128 training images in batches of 64, 100 test images, one thread. */
export const QUICK_TRAIN = ['--train-limit', '128', '--test-limit', '100', '--threads', '1', '--batch-size', '64'];

/**
 * Trains `--out <tmp>/run` with `args` once, before the file's tests, and returns a function
 * that gives each test its own copy of that run folder.
 */
export function trainedRunCopies(prefix: string, args: readonly string[]): () => string {
  let pristine = '';
  beforeAll(() => {
    pristine = join(mkdtempSync(join(tmpdir(), prefix)), 'run');
    const r = runCli('train', [...args, '--out', pristine]);
    if (r.status !== 0) throw new Error(`train ${args.join(' ')} failed: ${r.stderr}`);
  });
  return () => {
    const run = join(mkdtempSync(join(tmpdir(), prefix)), 'run');
    cpSync(pristine, run, { recursive: true });
    return run;
  };
}
