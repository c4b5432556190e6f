/**
 * Running a CLI where file permissions bite. Tests run as root in CI, and root reads a
 * `chmod 000` file anyway, so as root the CLI runs as nobody (uid/gid 65534) with a writable
 * TMPDIR and HOME of its own; otherwise it runs as we are. Either way the caller checks that
 * the file really is unreadable to it (see `unreadableTo`), so the test cannot pass vacuously.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, ROOT } from './cli.js';

export const NOBODY = 65534;
const asRoot = (): boolean => process.getuid?.() === 0;

/** Spawns `node` as the test user: nobody when we are root. Throws if it cannot be started. */
function spawnAsUser(args: readonly string[], timeout = 120_000): CliResult {
  const options = { cwd: ROOT, encoding: 'utf8' as const, timeout, env: { ...process.env, FORCE_COLOR: '0' } };
  if (asRoot()) {
    // tsx caches compiled files under the temporary folder; nobody needs one it can write.
    const home = mkdtempSync(join(tmpdir(), 'nobody-home-'));
    chmodSync(home, 0o777);
    Object.assign(options.env, { HOME: home, TMPDIR: home });
    Object.assign(options, { uid: NOBODY, gid: NOBODY });
  }
  const run = (argv: readonly string[]) => spawnSync(process.execPath, argv, options);
  // As nobody, the CLI's code must be readable: a clone under a folder private to root is not.
  if (
    asRoot() &&
    run(['-e', `require('node:fs').accessSync(${JSON.stringify(join(ROOT, 'package.json'))})`]).status !== 0
  )
    throw new Error(
      `uid ${NOBODY} cannot read the repository at ${ROOT} (a folder above it is private): ` +
        `the permission tests run the CLI as that user, so clone where others may read`,
    );
  const r = run(args);
  if (r.error)
    throw new Error(
      `cannot run ${asRoot() ? `node as uid ${NOBODY}` : 'node'} for the permission test: ${r.error.message}`,
    );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `src/cli/<script>.ts` as the test user (see above). */
export function runCliAsUser(script: string, args: readonly string[]): CliResult {
  return spawnAsUser(['--import', 'tsx', `src/cli/${script}.ts`, ...args]);
}

/**
 * Whether the test user really cannot read `file`, asked of a child process run the same way
 * (so capabilities such as CAP_DAC_OVERRIDE without uid 0 are caught too).
 */
export function unreadableTo(file: string): boolean {
  const probe =
    `try { require('node:fs').readFileSync(${JSON.stringify(file)}); ` +
    `console.log('readable'); } catch (e) { console.log(e.code); }`;
  const r = spawnAsUser(['-e', probe]);
  return r.stdout.trim() === 'EACCES';
}
