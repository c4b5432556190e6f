/**
 * The package as another project installs it: `npm pack`'s tarball (which builds dist/ first)
 * and an example app of examples/ copied into a fresh temporary folder outside this repository,
 * with the tarball and the packages it needs installed there from npm (its cache first), at the
 * versions this repository has.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface Packed {
  tarball: string;
  size: number;
  unpackedSize: number;
  files: string[];
}

const npm = (cwd: string, args: string[]) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

/** `npm pack` into a temporary folder. */
export function pack(): Packed {
  const dir = mkdtempSync(join(tmpdir(), 'packed-'));
  const [info] = JSON.parse(npm(ROOT, ['pack', '--json', '--pack-destination', dir]));
  return {
    tarball: join(dir, info.filename),
    size: info.size,
    unpackedSize: info.unpackedSize,
    files: info.files.map((f: { path: string }) => f.path),
  };
}

/** The version of a package this repository has installed. */
export const versionOf = (name: string): string =>
  JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

/**
 * examples/<name> in a fresh folder, with the tarball and `packages` (names, at this repository's versions) installed.
 */
export function installExample(name: string, tarball: string, packages: readonly string[]): string {
  const dir = join(mkdtempSync(join(tmpdir(), `${name}-`)), name);
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true });
  npm(dir, [
    'install',
    tarball,
    ...packages.map((p) => `${p}@${versionOf(p)}`),
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
  ]);
  return dir;
}

/** Lines of JSON a command printed, parsed. */
export const jsonLines = (out: string): Record<string, unknown>[] =>
  out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
