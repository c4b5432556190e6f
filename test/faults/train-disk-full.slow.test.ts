/**
 * A full disk while a run writes its checkpoint: one line naming the file and the last
 * complete checkpoint, no `.partial-*` folder left, the process ends (the batch worker is
 * alive at that moment), and the run continues once there is space again.
 * The full disk is real: a small tmpfs, which needs root (CI runs as root).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { seedCnn } from '../../src/model/seed-cnn.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { lines, runCli } from '../helpers/cli.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'disk-full-'));
let mounted = false;
let whyNot = '';
beforeAll(() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (e) {
    whyNot = String((e as { stderr?: Buffer }).stderr ?? e).trim();
    console.warn(`SKIPPED the full-disk test: cannot mount a small tmpfs here (needs root): ${whyNot}`);
  }
});
afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
});

const quick = ['--train-limit', '128', '--test-limit', '100', '--threads', '1', '--batch-size', '64'];

/** Fills the disk up to `leave` free bytes. */
function fillDisk(leave: number): string {
  const filler = join(mountPoint, 'filler');
  const { bavail, bsize } = statfsSync(mountPoint);
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - leave)));
  return filler;
}

describe('a full disk', () => {
  test('while writing a checkpoint: one line, the last checkpoint intact, nothing partial left, resumable later', (ctx) => {
    if (!mounted) ctx.skip();
    const run = join(mountPoint, 'run');
    expect(runCli('train', [...quick, '--epochs', '1', '--out', run]).status).toBe(0);
    // room for the graphs the resumed run rewrites (~75 kB), not for a checkpoint (~150 kB)
    const filler = fillDisk(110_000);
    const full = runCli('train', ['--out', run, '--resume', '--epochs', '2'], { timeout: 60_000 });
    expect(full.status).toBe(1); // null: the process hung
    const errors = lines(full.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(
        `^error: ${run}/checkpoints/epoch-002\\.partial-\\d+-[0-9a-f]+/(model|optimizer)\\.safetensors: ` +
          `cannot write the checkpoint: no space left on device \\(ENOSPC\\); ` +
          `the last good checkpoint is ${run}/checkpoints/epoch-001 and intact$`,
      ),
    );
    expect(readdirSync(join(run, 'checkpoints'))).toEqual(['epoch-001']);
    expect(() => loadCheckpoint(join(run, 'checkpoints', 'epoch-001'), seedCnn())).not.toThrow();
    expect(existsSync(join(run, '.lock'))).toBe(false);

    rmSync(filler);
    const resumed = runCli('train', ['--out', run, '--resume', '--epochs', '2']);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain(`resuming from ${run}/checkpoints/epoch-001`);
    expect(readdirSync(join(run, 'checkpoints'))).toEqual(['epoch-001', 'epoch-002']);
  });
});
