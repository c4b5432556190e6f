/**
 * writeFileAtomic / writeFilesAtomic: failures name the target (never the temporary) and
 * leave no temporary; a temporary is created exclusively, never through a planted link, and
 * nothing this process did not create is removed (a killed writer's temporary included).
 * Runs as root in CI, so write failures come from a regular file in the path, /proc, and
 * a folder in the way, not from permissions.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { WriteError, writeFileAtomic, writeFilesAtomic } from '../../src/util/atomic.node.js';
import { FileError } from '../../src/util/errors.js';

const DEAD_PID = 2_000_000_000; // above any Linux pid_max (at most 2^22)

function thrown(f: () => void): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('a failed write names the target and leaves nothing behind', () => {
  test('a regular file where a folder should be', () => {
    const root = mkdtempSync(join(tmpdir(), 'atomic-'));
    const file = join(root, 'plain');
    writeFileSync(file, 'x');
    const e = thrown(() => writeFileAtomic(join(file, 'out.json'), '{}'));
    expect(e).toBeInstanceOf(WriteError);
    expect(e).toBeInstanceOf(FileError);
    expect(e.message).toBe(`${file}/out.json: cannot write: ${file} is a file, not a folder (ENOTDIR)`);
    expect((e as WriteError).code).toBe('ENOTDIR'); // callers that branch on system error codes still can
    expect(readdirSync(root)).toEqual(['plain']);
  });

  test('a folder that takes no new files (/proc)', () => {
    const e = thrown(() => writeFileAtomic('/proc/out.json', '{}'));
    expect(e.message).toBe('/proc/out.json: cannot write: cannot create a file in /proc (ENOENT)');
    expect(readdirSync('/proc').filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  test('a folder in the way of the target', () => {
    const root = mkdtempSync(join(tmpdir(), 'atomic-'));
    const target = join(root, 'model.onnx');
    mkdirSync(target);
    const e = thrown(() => writeFileAtomic(target, 'bytes'));
    expect(e.message).toBe(`${target}: cannot write: is a folder, not a file (EISDIR)`);
    expect(readdirSync(root)).toEqual(['model.onnx']);
  });

  test('a pair whose second file cannot be written leaves the first untouched', () => {
    const root = mkdtempSync(join(tmpdir(), 'atomic-'));
    const first = join(root, 'a.onnx');
    writeFileSync(first, 'old');
    const e = thrown(() =>
      writeFilesAtomic([
        [first, 'new'],
        ['/proc/a.json', '{}'],
      ]),
    );
    expect(e.message).toBe('/proc/a.json: cannot write: cannot create a file in /proc (ENOENT)');
    expect(readFileSync(first, 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['a.onnx']);
  });
});

describe('nothing but our own temporaries', () => {
  test("files and links named like temporaries (a killed writer's, another user's) are neither followed nor removed", () => {
    const root = mkdtempSync(join(tmpdir(), 'atomic-'));
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'keep me');
    const target = join(root, 'metrics.jsonl');
    const files = [
      `${target}.tmp-${DEAD_PID}`,
      `${target}.tmp-0`,
      `${target}.tmp-${process.ppid}`,
      `${target}.tmp-old`,
    ];
    for (const f of files) writeFileSync(f, 'partial');
    // Links at every name the old writer would have used, this process's own included.
    const links = [process.pid, DEAD_PID, 1].map((pid) => `${target}.tmp-${pid}-link`);
    symlinkSync(victim, `${target}.tmp-${process.pid}`);
    for (const l of links) symlinkSync(victim, l);
    writeFileAtomic(target, 'complete\n');
    expect(readFileSync(target, 'utf8')).toBe('complete\n');
    expect(lstatSync(target).isFile()).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    for (const f of files) expect(readFileSync(f, 'utf8')).toBe('partial');
    for (const l of [`${target}.tmp-${process.pid}`, ...links]) expect(lstatSync(l).isSymbolicLink()).toBe(true);
    // victim, target, files, links: no temporary of ours
    expect(readdirSync(root).length).toBe(1 + 1 + files.length + 1 + links.length);
  });

  test('a name of 250 bytes, as legal as any, is written: the temporary is named so that it fits too', () => {
    const root = mkdtempSync(join(tmpdir(), 'atomic-'));
    const target = join(root, `${'m'.repeat(245)}.json`);
    writeFileAtomic(target, '{}');
    expect(readFileSync(target, 'utf8')).toBe('{}');
    expect(readdirSync(root)).toEqual([`${'m'.repeat(245)}.json`]);
  });
});
