/** Runs a CLI entry point the way `npm run <script>` does (node + tsx), capturing its output. */
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Working folder (default: the repository root, as for `npm run`). */
  cwd?: string;
  timeout?: number;
  /** Variables added to (or, as undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  /** Written to the command's stdin (runCli only). */
  input?: string | Uint8Array;
}

/** node + tsx by absolute paths, so that the command works from any working folder. */
function command(script: string, args: readonly string[]): string[] {
  const tsx = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  return ['--import', tsx, join(ROOT, 'src/cli', `${script}.ts`), ...args];
}

const env = (extra: CliOptions['env'] = {}) => ({ ...process.env, FORCE_COLOR: '0', ...extra });

export function runCli(script: string, args: readonly string[], options: number | CliOptions = {}): CliResult {
  const {
    cwd = ROOT,
    timeout = 120_000,
    env: extra,
    input,
  } = typeof options === 'number' ? { timeout: options } : options;
  const r = spawnSync(process.execPath, command(script, args), {
    cwd,
    encoding: 'utf8',
    timeout,
    env: env(extra),
    input,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a CLI without waiting: the process (to kill) and its result once it ends. */
export function startCli(
  script: string,
  args: readonly string[],
  { cwd = ROOT, env: extra }: CliOptions = {},
): {
  child: ChildProcessByStdio<null, Readable, Readable>;
  result: Promise<CliResult & { signal: NodeJS.Signals | null }>;
} {
  const child = spawn(process.execPath, command(script, args), {
    cwd,
    env: env(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const result = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
  return { child, result };
}

/** The non-empty lines of a stream. */
export const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');
