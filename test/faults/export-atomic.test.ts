/**
 * writeFileAtomic / writeFilesAtomic: failures name the target (never the temporary) and
 * leave no temporary; temporaries of dead processes are cleaned up, live ones kept.
 * Runs as root in CI, so write failures come from a regular file in the path, /proc, and
 * a folder in the way, not from permissions.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { WriteError, writeFileAtomic, writeFilesAtomic } from '../../src/util/atomic.js';
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
    expect(existsSync(`/proc/out.json.tmp-${process.pid}`)).toBe(false);
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
    const e = thrown(() => writeFilesAtomic([[first, 'new'], ['/proc/a.json', '{}']]));
    expect(e.message).toBe('/proc/a.json: cannot write: cannot create a file in /proc (ENOENT)');
    expect(readFileSync(first, 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['a.onnx']);
  });
});

describe('temporaries of a killed writer', () => {
  test('of a dead process are removed before writing the same target; live, foreign and other targets kept', () => {
    const root = mkdtempSync(join(tmpdir(), 'atomic-'));
    const target = join(root, 'metrics.jsonl');
    const dead = [`${target}.tmp-${DEAD_PID}`, `${target}.tmp-0`];
    const kept = [`${target}.tmp-${process.ppid}`, `${target}.tmp-old`, join(root, `other.jsonl.tmp-${DEAD_PID}`), `${target}.tmp-${DEAD_PID}.bak`];
    for (const f of [...dead, ...kept]) writeFileSync(f, 'partial');
    writeFileAtomic(target, 'complete\n');
    expect(readFileSync(target, 'utf8')).toBe('complete\n');
    for (const f of dead) expect(existsSync(f)).toBe(false);
    for (const f of kept) expect(readFileSync(f, 'utf8')).toBe('partial');
  });
});
