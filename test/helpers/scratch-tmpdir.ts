/**
 * vitest's global setup: every test's temporary files (and those of the CLIs the tests start)
 * go under one folder made for this run and removed when it ends, so a crashed or forgetful
 * test leaves nothing in the system's temporary folder. The folder is world-writable and sticky,
 * as /tmp is: some tests run the CLI as an unprivileged user, whose own temporary files land here.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const PREFIX = 'onnx-mnist-tests-';

export default function setup(): () => void {
  const saved = process.env.TMPDIR;
  if (basename(tmpdir()).startsWith(PREFIX)) return () => {}; // each project runs the setup: the first one serves
  const scratch = mkdtempSync(join(tmpdir(), PREFIX));
  chmodSync(scratch, 0o1777);
  process.env.TMPDIR = scratch;
  return () => {
    rmSync(scratch, { recursive: true, force: true });
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  };
}
